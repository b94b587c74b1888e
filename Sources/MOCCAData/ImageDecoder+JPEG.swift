import CTurboJPEG

extension ImageDecoder {
    /// Decodes a JPEG with TurboJPEG.
    ///
    /// Grey and colour JPEGs decode straight to grey or RGB. libjpeg cannot convert CMYK
    /// or YCCK (Adobe's CMYK JPEGs) to RGB, so those decode to their four ink planes,
    /// which ``planar(_:width:height:layout:channels:)`` converts.
    static func decodeJPEG(_ bytes: [UInt8], path: String, channels: Int, maximumPixels: Int) throws -> Image {
        guard let handle = tjInitDecompress() else { throw DataError.unreadable(path: path, reason: "TurboJPEG could not start") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let size = UInt(bytes.count)
        guard tjDecompressHeader3(handle, bytes, size, &width, &height, &subsampling, &colorspace) == 0, width > 0, height > 0 else {
            throw jpegError(handle, path: path, corrupt: "corrupt JPEG header")
        }
        try checkSize(width: Int(width), height: Int(height), path: path, maximumPixels: maximumPixels)
        let ink = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let (format, layout) = ink ? (TJPF_CMYK, Layout.cmyk) : channels == 1 ? (TJPF_GRAY, .grey) : (TJPF_RGB, .rgb)
        var samples = [UInt8](repeating: 0, count: Int(width) * Int(height) * layout.count)
        // Even a warning (a truncated scan, say) is refused: the image would be partly grey.
        guard tjDecompress2(handle, bytes, size, &samples, width, 0, height, Int32(format.rawValue), 0) == 0 else {
            throw jpegError(handle, path: path, corrupt: "corrupt or truncated JPEG data")
        }
        return planar(samples, width: Int(width), height: Int(height), layout: layout, channels: channels)
    }

    /// The start of libjpeg's and TurboJPEG's messages for valid JPEGs using a feature
    /// they lack (libjpeg's "Unsupported marker type" is left out: it means corrupt data).
    private static let unsupportedJPEGMessages = [
        "Unsupported JPEG process",        // lossless and hierarchical JPEG (SOF3, SOF5...)
        "Unsupported JPEG data precision", // 12-bit samples
        "Unsupported color conversion",    // a colour space libjpeg cannot turn into RGB or grey
        "Requested feature was omitted",
        "Sorry,",                          // features libjpeg never implemented
        "Could not determine subsampling", // chroma sampling factors TurboJPEG does not name
    ]

    /// TurboJPEG's last error as a ``DataError``: unsupported when it names a missing
    /// feature, otherwise malformed, introduced by `corrupt`.
    private static func jpegError(_ handle: tjhandle, path: String, corrupt: String) -> DataError {
        let message = String(cString: tjGetErrorStr2(handle))
        if unsupportedJPEGMessages.contains(where: { message.contains($0) }) {
            return .unsupported(path: path, message: "JPEG decoding: \(message)")
        }
        return .malformed(path: path, message: "\(corrupt): \(message)")
    }
}
