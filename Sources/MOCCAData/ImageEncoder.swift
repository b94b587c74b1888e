import CPNG
import Foundation
import MOCCACore

/// Encodes decoded images back to PNG files, so that reports and tools can save what
/// they draw (heat-map overlays, figures) in the one lossless format every browser shows.
///
/// libpng's simplified API does the work, as for decoding: no `setjmp`, and errors come
/// back as messages. The files hold 8-bit grey or RGB samples without a `gAMA` or `sRGB`
/// chunk, so ``ImageDecoder`` reads them back to exactly the same bytes.
public enum ImageEncoder {
    /// The PNG bytes of `image`: 8-bit grey for one channel, 8-bit RGB for three.
    /// - Parameter path: names the image in errors; nothing is written to it.
    /// - Throws: ``DataError/malformed(path:message:)`` when the image is not 1 or 3
    ///   planes of `width × height` bytes, is empty, or libpng refuses it, and
    ///   ``DataError/tooLarge(path:width:height:limit:)`` beyond ``ImageDecoder/maximumPixels``.
    public static func encodePNG(_ image: ImageDecoder.Image, path: String = "PNG image") throws -> [UInt8] {
        try check(image, path: path)
        let interleaved = interleave(image)
        var png = png_image()
        png.version = UInt32(PNG_IMAGE_VERSION)
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = image.channels == 3 ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0
        defer { png_image_free(&png) }
        let stride = Int32(image.width * image.channels)
        // The first call measures, the second writes into memory of that size.
        var size: png_alloc_size_t = 0
        guard png_image_write_to_memory(&png, nil, &size, 0, interleaved, stride, nil) != 0, size > 0 else {
            throw DataError.malformed(path: path, message: "libpng cannot encode the image: \(message(of: png))")
        }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        guard png_image_write_to_memory(&png, &bytes, &size, 0, interleaved, stride, nil) != 0 else {
            throw DataError.malformed(path: path, message: "libpng cannot encode the image: \(message(of: png))")
        }
        return Array(bytes.prefix(Int(size)))
    }

    /// Writes `image` as a PNG file at `url`, atomically: a reader (a browser refreshing a
    /// report) never sees half a file, and an existing file is replaced only by a whole one.
    /// - Throws: as ``encodePNG(_:path:)``, and ``DataError/malformed(path:message:)``
    ///   saying "cannot be written" with the system's reason when the folder is missing
    ///   or not writable (`DataError` has no case of its own for writing).
    public static func writePNG(_ image: ImageDecoder.Image, to url: URL) throws {
        let bytes = try encodePNG(image, path: url.path)
        do { try AtomicFile.write(Data(bytes), to: url) } catch {
            throw DataError.malformed(path: url.path, message: "cannot be written: \(error.localizedDescription)")
        }
    }

    /// Throws unless `image` is 1 or 3 non-empty planes whose bytes are all there.
    private static func check(_ image: ImageDecoder.Image, path: String) throws {
        guard image.channels == 1 || image.channels == 3 else {
            throw DataError.malformed(path: path, message: "only grey (1) or RGB (3) images can be encoded, not \(image.channels) channels")
        }
        guard image.width > 0, image.height > 0, image.width <= Int(Int32.max) / 3, image.height <= Int(Int32.max) else {
            throw DataError.malformed(path: path, message: "cannot encode a \(image.width)x\(image.height) image")
        }
        let (area, overflow) = image.width.multipliedReportingOverflow(by: image.height)
        guard !overflow, area <= ImageDecoder.maximumPixels else {
            throw DataError.tooLarge(path: path, width: image.width, height: image.height, limit: ImageDecoder.maximumPixels)
        }
        guard image.pixels.count == area * image.channels else {
            throw DataError.malformed(path: path, message: "a \(image.width)x\(image.height) image of \(image.channels) channels "
                                      + "needs \(area * image.channels) bytes, has \(image.pixels.count)")
        }
    }

    /// Planar `[C, H, W]` bytes to the interleaved `[H, W, C]` rows libpng writes.
    private static func interleave(_ image: ImageDecoder.Image) -> [UInt8] {
        let plane = image.width * image.height, channels = image.channels
        guard channels > 1 else { return image.pixels }
        var out = [UInt8](repeating: 0, count: plane * channels)
        for c in 0..<channels {
            for p in 0..<plane { out[p * channels + c] = image.pixels[c * plane + p] }
        }
        return out
    }

    /// libpng's message for the last failure.
    private static func message(of image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
