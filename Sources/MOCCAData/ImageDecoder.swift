import Foundation

/// Decodes JPEG (libjpeg-turbo), PNG (libpng) and TIFF (libtiff) files to 8-bit pixels,
/// resized on request.
///
/// Samples come out as the file stores them, without colour management, as Pillow and
/// OpenCV read them:
/// - 16-bit PNG samples are scaled to the nearest 8-bit value, `(v · 255 + 32767) / 65535`,
///   with no gamma conversion, and a PNG's `gAMA` chunk is ignored, so an 8-bit and a
///   16-bit copy of an image decode to the same pixels. (Pillow keeps the high byte of
///   16-bit RGB, `v >> 8`, at most one level lower, and clips 16-bit grey.)
/// - Alpha is dropped, not composited, as Pillow's `convert("RGB")` does.
/// - Colour becomes grey by the ITU-R BT.601 luma `0.299 R + 0.587 G + 0.114 B` in
///   Pillow's fixed point (its `convert("L")`), or for a colour JPEG the Y it stores;
///   grey becomes RGB by repeating it.
/// - CMYK and YCCK JPEGs use Adobe's inverted convention (255 is no ink), which
///   Photoshop, Pillow and TurboJPEG share: `R = C · K / 255`, and likewise for G and B.
public enum ImageDecoder {
    /// A decoded image: `channels` planes of `height × width` bytes (`[C, H, W]`).
    public struct Image: Sendable, Equatable {
        /// The image's size in pixels, and its number of channels (1 or 3).
        public var width: Int, height: Int, channels: Int
        /// The pixels, as row-major `[C, H, W]` bytes.
        public var pixels: [UInt8]

        /// An image from its parts; consumers such as ``ImageResizer`` check that
        /// `pixels` holds `channels × height × width` bytes.
        public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
            self.width = width
            self.height = height
            self.channels = channels
            self.pixels = pixels
        }
    }

    /// The most pixels (width × height) an image's header may declare: 100 megapixels.
    ///
    /// The declared size is checked before any pixel memory is allocated, so a 65-byte
    /// PNG claiming 30000×20000 is refused at once instead of allocating 1.8 GB and then
    /// failing. 100 megapixels is six times a 4096×4096 industrial camera frame
    /// (16.8 megapixels) and above Pillow's own warning threshold (89.5 megapixels); at
    /// the limit, decoding a PNG with alpha to RGB holds 400 MB plus the 300 MB result.
    public static let maximumPixels = 100_000_000

    /// Decodes the file at `path` to `channels` channels (1: grey, 3: RGB), converting as
    /// needed, then resizes it to `size` with `filter` when a size is given.
    ///
    /// Reads the file and hands its bytes to ``decode(bytes:path:channels:size:filter:maximumPixels:)``.
    /// - Parameter maximumPixels: the largest `width × height` a header may declare.
    /// - Throws: ``DataError/missing(path:expected:)``, ``DataError/unreadable(path:reason:)``,
    ///   ``DataError/malformed(path:message:)`` for corrupt or truncated files,
    ///   ``DataError/unsupported(path:message:)`` for valid files using a feature the
    ///   decoders lack (12-bit or lossless JPEG, other formats), and
    ///   ``DataError/tooLarge(path:width:height:limit:)``.
    public static func decode(path: String, channels: Int, size: (height: Int, width: Int)? = nil,
                              filter: ImageResizer.Filter = .area,
                              maximumPixels: Int = ImageDecoder.maximumPixels) throws -> Image {
        try checkChannels(channels, path: path)
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw DataError.unreadable(path: path, reason: "permission denied") }
            throw DataError.missing(path: path, expected: "an image file")
        }
        return try decode(bytes: [UInt8](data), path: path, channels: channels, size: size, filter: filter,
                          maximumPixels: maximumPixels)
    }

    /// Decodes the bytes of a JPEG, PNG or TIFF file, as ``decode(path:channels:size:filter:maximumPixels:)``
    /// does once it has read the file: by its signature, to `channels` channels, resized
    /// to `size` when one is given.
    /// - Parameter path: names the image in errors; nothing is read from it.
    /// - Throws: ``DataError/malformed(path:message:)``, ``DataError/unsupported(path:message:)``
    ///   and ``DataError/tooLarge(path:width:height:limit:)``, as for a file.
    public static func decode(bytes: [UInt8], path: String, channels: Int, size: (height: Int, width: Int)? = nil,
                              filter: ImageResizer.Filter = .area,
                              maximumPixels: Int = ImageDecoder.maximumPixels) throws -> Image {
        try checkChannels(channels, path: path)
        let image: Image
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            image = try decodeJPEG(bytes, path: path, channels: channels, maximumPixels: maximumPixels)
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            image = try decodePNG(bytes, path: path, channels: channels, maximumPixels: maximumPixels)
        } else if isTIFF(bytes) {
            image = try decodeTIFF(bytes, path: path, channels: channels, maximumPixels: maximumPixels)
        } else if let format = otherFormat(bytes) {
            throw DataError.unsupported(path: path, message: "a \(format) image; only JPEG, PNG and TIFF files are decoded")
        } else {
            throw DataError.malformed(path: path, message: "not a JPEG, PNG or TIFF file (no signature found)")
        }
        guard let size else { return image }
        return try ImageResizer.resize(image, height: size.height, width: size.width, filter: filter, source: path)
    }

    /// Throws unless `channels` is 1 (grey) or 3 (RGB); checked before a file is read.
    private static func checkChannels(_ channels: Int, path: String) throws {
        guard channels == 1 || channels == 3 else {
            throw DataError.malformed(path: path, message: "images can be decoded to 1 (grey) or 3 (RGB) channels, not \(channels)")
        }
    }

    /// The name of another common image format whose signature `bytes` start with.
    private static func otherFormat(_ bytes: [UInt8]) -> String? {
        let signatures: [(String, [UInt8])] = [
            ("GIF", Array("GIF87a".utf8)), ("GIF", Array("GIF89a".utf8)), ("JPEG 2000", [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]),
        ]
        if let match = signatures.first(where: { bytes.starts(with: $0.1) }) { return match.0 }
        if bytes.count >= 12, bytes.starts(with: Array("RIFF".utf8)), Array(bytes[8..<12]) == Array("WEBP".utf8) { return "WebP" }
        // "BM" alone is too likely in corrupt data: a BMP also has a known DIB header size.
        if bytes.count >= 18, bytes.starts(with: Array("BM".utf8)), [12, 40, 52, 56, 64, 108, 124].contains(Int(bytes[14])),
           bytes[15...17].allSatisfy({ $0 == 0 }) {
            return "BMP"
        }
        return nil
    }

    /// Throws ``DataError/tooLarge(path:width:height:limit:)`` unless `width × height`
    /// is within `maximumPixels`; called on the header's size, before any allocation.
    static func checkSize(width: Int, height: Int, path: String, maximumPixels: Int) throws {
        let (area, overflow) = width.multipliedReportingOverflow(by: height)
        guard !overflow, area <= maximumPixels else {
            throw DataError.tooLarge(path: path, width: width, height: height, limit: maximumPixels)
        }
    }

    /// How decoded samples are interleaved, before conversion to planes.
    enum Layout {
        case grey, greyAlpha, rgb, rgba, cmyk

        /// Samples per pixel.
        var count: Int {
            switch self {
            case .grey: return 1
            case .greyAlpha: return 2
            case .rgb: return 3
            case .rgba, .cmyk: return 4
            }
        }
    }

    /// Interleaved samples in `layout` to planar `[channels, H, W]` bytes: alpha dropped,
    /// colour to grey by BT.601 luma, grey repeated for RGB, CMYK converted to RGB first.
    static func planar(_ source: [UInt8], width: Int, height: Int, layout: Layout, channels: Int) -> Image {
        let plane = width * height, stride = layout.count
        var out = [UInt8](repeating: 0, count: plane * channels)
        source.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                // One pixel's colour into the output planes.
                @inline(__always) func store(_ p: Int, _ red: UInt32, _ green: UInt32, _ blue: UInt32) {
                    if channels == 1 {
                        // Pillow's fixed-point BT.601 luma: the weights sum to 65536.
                        dst[p] = UInt8((red * 19595 + green * 38470 + blue * 7471 + 0x8000) >> 16)
                    } else {
                        dst[p] = UInt8(red)
                        dst[plane + p] = UInt8(green)
                        dst[2 * plane + p] = UInt8(blue)
                    }
                }
                switch layout {
                case .grey, .greyAlpha:
                    for c in 0..<channels {
                        for p in 0..<plane { dst[c * plane + p] = src[p * stride] }
                    }
                case .rgb, .rgba:
                    for p in 0..<plane {
                        let s = p * stride
                        store(p, UInt32(src[s]), UInt32(src[s + 1]), UInt32(src[s + 2]))
                    }
                case .cmyk:
                    for p in 0..<plane {
                        // Inverted (Adobe) samples: C · K / 255, rounded (never a tie, 255 being odd).
                        let s = p * stride, k = UInt32(src[s + 3])
                        store(p, (UInt32(src[s]) * k + 127) / 255, (UInt32(src[s + 1]) * k + 127) / 255,
                              (UInt32(src[s + 2]) * k + 127) / 255)
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }
}
