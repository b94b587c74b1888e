import CTIFF

extension ImageDecoder {
    /// Whether `bytes` start with a TIFF signature (classic or BigTIFF, either byte order).
    static func isTIFF(_ bytes: [UInt8]) -> Bool {
        [[0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A], [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B]]
            .contains { bytes.starts(with: $0) }
    }

    /// Decodes the first image of a TIFF file with libtiff, read from memory.
    ///
    /// libtiff's RGBA interface reads every photometric interpretation, bit depth and
    /// compression it supports (UCSD's frames are 8-bit grey, uncompressed) to 8-bit RGBA,
    /// top row first; 16-bit samples keep their high byte. Alpha is dropped and colour
    /// becomes grey by ``planar(_:width:height:layout:channels:)``, as for PNG and JPEG;
    /// grey stays exact, since equal R, G and B give back the same grey level. libtiff's
    /// messages are captured into the errors rather than printed, and its allocations are
    /// capped at what the largest allowed image needs.
    static func decodeTIFF(_ bytes: [UInt8], path: String, channels: Int, maximumPixels: Int) throws -> Image {
        try bytes.withUnsafeBufferPointer { file in
            let memory = UnsafeMutablePointer<mocca_tiff_memory>.allocate(capacity: 1)
            defer { memory.deallocate() }
            memory.initialize(to: mocca_tiff_memory())
            memory.pointee.data = file.baseAddress
            memory.pointee.size = UInt64(file.count)
            func message() -> String {
                let text = withUnsafeBytes(of: memory.pointee.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                return text.isEmpty ? "libtiff gave no reason" : text
            }
            // A strip or tile of the largest allowed image at up to 8 bytes a pixel (16-bit RGBA).
            let (limit, overflow) = maximumPixels.multipliedReportingOverflow(by: 8)
            guard let tiff = mocca_tiff_open(memory, tmsize_t(overflow ? Int.max : max(limit, 1 << 20))) else {
                throw DataError.malformed(path: path, message: "corrupt TIFF: \(message())")
            }
            defer { TIFFClose(tiff) }
            var width: UInt32 = 0, height: UInt32 = 0
            guard mocca_tiff_dimensions(tiff, &width, &height) != 0, width > 0, height > 0 else {
                throw DataError.malformed(path: path, message: "corrupt TIFF: no image width and height")
            }
            try checkSize(width: Int(width), height: Int(height), path: path, maximumPixels: maximumPixels)
            // A compression scheme libtiff lacks is refused, and uncompressed pixels must all
            // be in the file, before the raster is allocated (found by fuzzing: flipped bits
            // made a 3×2 image 33,554,435×2 of scheme 1537, read blank for seconds).
            var compression: UInt16 = 0, perPixel: UInt16 = 0, bits: UInt16 = 0
            mocca_tiff_format(tiff, &compression, &perPixel, &bits)
            // In Double: the tags can declare up to 2³² × 2¹⁶ × 2¹⁶ bits.
            let declared = (Double(width) * Double(perPixel) * Double(bits) / 8).rounded(.down) * Double(height)
            guard TIFFIsCODECConfigured(compression) != 0 else {
                throw DataError.unsupported(path: path, message: "TIFF compression scheme \(compression), which libtiff does not decode")
            }
            if compression == UInt16(COMPRESSION_NONE), declared > Double(file.count) {
                throw DataError.malformed(path: path, message: "truncated or corrupt TIFF: \(width)x\(height) pixels of \(perPixel) \(bits)-bit samples need \(Int(declared)) bytes, the file has \(file.count)")
            }
            var reason = [CChar](repeating: 0, count: 1024)
            guard TIFFRGBAImageOK(tiff, &reason) != 0 else {
                throw DataError.unsupported(path: path, message: "TIFF decoding: \(String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))")
            }
            var raster = [UInt32](repeating: 0, count: Int(width) * Int(height))
            // Stop at the first bad strip or tile, rather than leave it blank and go on.
            guard TIFFReadRGBAImageOriented(tiff, width, height, &raster, Int32(ORIENTATION_TOPLEFT), 1) != 0 else {
                throw DataError.malformed(path: path, message: "corrupt or truncated TIFF data: \(message())")
            }
            // Each pixel packs R, G, B and A from the low byte up (libtiff's TIFFGetR...).
            var samples = [UInt8](repeating: 0, count: raster.count * 4)
            for (p, value) in raster.enumerated() {
                samples[4 * p] = UInt8(truncatingIfNeeded: value)
                samples[4 * p + 1] = UInt8(truncatingIfNeeded: value >> 8)
                samples[4 * p + 2] = UInt8(truncatingIfNeeded: value >> 16)
                samples[4 * p + 3] = UInt8(truncatingIfNeeded: value >> 24)
            }
            return planar(samples, width: Int(width), height: Int(height), layout: .rgba, channels: channels)
        }
    }
}
