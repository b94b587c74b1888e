import CPNG
import CTurboJPEG
import Foundation

/// Decodes JPEG (libjpeg-turbo) and PNG (libpng) files to 8-bit pixels.
public enum ImageDecoder {
    /// A decoded image: `channels` planes of `height × width` bytes (`[C, H, W]`).
    public struct Image {
        /// The image's size in pixels, and its number of channels (1 or 3).
        public var width: Int, height: Int, channels: Int
        /// The pixels, as row-major `[C, H, W]` bytes.
        public var pixels: [UInt8]
    }

    /// Decodes the file at `path` to `channels` channels (1: grey, 3: RGB), converting as needed.
    public static func decode(path: String, channels: Int) throws -> Image {
        guard channels == 1 || channels == 3 else {
            throw DataError.malformed(path: path, message: "images can be decoded to 1 (grey) or 3 (RGB) channels, not \(channels)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            if FileManager.default.fileExists(atPath: path) { throw DataError.unreadable(path: path, reason: "permission denied") }
            throw DataError.missing(path: path, expected: "an image file")
        }
        let bytes = [UInt8](data)
        let interleaved: Image
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            interleaved = try decodeJPEG(bytes, path: path, channels: channels)
        } else if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
            interleaved = try decodePNG(bytes, path: path, channels: channels)
        } else {
            throw DataError.malformed(path: path, message: "not a JPEG or PNG file")
        }
        return planar(interleaved)
    }

    private static func decodeJPEG(_ bytes: [UInt8], path: String, channels: Int) throws -> Image {
        guard let handle = tjInitDecompress() else { throw DataError.unreadable(path: path, reason: "TurboJPEG could not start") }
        defer { tjDestroy(handle) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        let size = UInt(bytes.count)
        guard tjDecompressHeader3(handle, bytes, size, &width, &height, &subsampling, &colorspace) == 0, width > 0, height > 0 else {
            throw DataError.malformed(path: path, message: "corrupt JPEG header: \(String(cString: tjGetErrorStr2(handle)))")
        }
        let format = channels == 1 ? TJPF_GRAY : TJPF_RGB
        let byteCount = try pixelCount(Int(width), Int(height), channels, path: path)
        var pixels = [UInt8](repeating: 0, count: byteCount)
        // Even a warning (a truncated scan, say) is refused: the image would be partly grey.
        guard tjDecompress2(handle, bytes, size, &pixels, width, 0, height, Int32(format.rawValue), 0) == 0 else {
            throw DataError.malformed(path: path, message: "corrupt or truncated JPEG data: \(String(cString: tjGetErrorStr2(handle)))")
        }
        return Image(width: Int(width), height: Int(height), channels: channels, pixels: pixels)
    }

    private static func decodePNG(_ bytes: [UInt8], path: String, channels: Int) throws -> Image {
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        defer { png_image_free(&image) }
        guard png_image_begin_read_from_memory(&image, bytes, bytes.count) != 0 else {
            throw DataError.malformed(path: path, message: "corrupt PNG: \(message(of: image))")
        }
        image.format = channels == 1 ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_RGB)
        var pixels = [UInt8](repeating: 0, count: try pixelCount(Int(image.width), Int(image.height), channels, path: path))
        guard png_image_finish_read(&image, nil, &pixels, 0, nil) != 0 else {
            throw DataError.malformed(path: path, message: "corrupt PNG data: \(message(of: image))")
        }
        return Image(width: Int(image.width), height: Int(image.height), channels: channels, pixels: pixels)
    }

    /// `width · height · channels`, refusing sizes that overflow or exceed 2^31 bytes
    /// (a corrupt header, not a real image).
    private static func pixelCount(_ width: Int, _ height: Int, _ channels: Int, path: String) throws -> Int {
        let (area, overflow1) = width.multipliedReportingOverflow(by: height)
        let (bytes, overflow2) = area.multipliedReportingOverflow(by: channels)
        guard !overflow1, !overflow2, bytes > 0, bytes < 1 << 31 else {
            throw DataError.malformed(path: path, message: "implausible image size \(width)x\(height)")
        }
        return bytes
    }

    private static func message(of image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Interleaved `HWC` to planar `CHW`.
    private static func planar(_ image: Image) -> Image {
        guard image.channels > 1 else { return image }
        let plane = image.width * image.height
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        for p in 0..<plane {
            for c in 0..<image.channels { out[c * plane + p] = image.pixels[p * image.channels + c] }
        }
        return Image(width: image.width, height: image.height, channels: image.channels, pixels: out)
    }
}
