import Foundation

// Files made by hand for tests: temporary folders, and PNG images written without an
// image library (stored DEFLATE blocks), so that the readers are tested against bytes
// whose every field is known.

/// A fresh empty folder under the system's temporary directory; the caller removes it.
public func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes `bytes` to `url`, creating the folders above it.
public func writeBytes(_ bytes: [UInt8], to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(bytes).write(to: url)
}

/// The CRC-32 of PNG and gzip (polynomial 0xEDB88320).
public func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        c ^= UInt32(byte)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    }
    return ~c
}

/// zlib's Adler-32 checksum.
public func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in bytes {
        a = (a + UInt32(byte)) % 65521
        b = (b + a) % 65521
    }
    return b << 16 | a
}

/// `value`'s four bytes, most significant first.
public func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}

/// A raw DEFLATE stream of stored (uncompressed) blocks.
public func storedDeflate(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    var start = 0
    repeat {
        let end = min(bytes.count, start + 65535)
        let length = UInt16(end - start)
        out.append(end == bytes.count ? 1 : 0)  // BFINAL, BTYPE = 00
        out += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
        out += bytes[start..<end]
        start = end
    } while start < bytes.count
    return out
}

/// A valid 8-bit PNG (grey for 1 channel, RGB for 3) of interleaved `pixels`, its image
/// data in stored zlib blocks.
public func makePNG(width: Int, height: Int, channels: Int, pixels: [UInt8]) -> [UInt8] {
    precondition((channels == 1 || channels == 3) && pixels.count == width * height * channels)
    func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typeBytes = Array(type.utf8)
        return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc32(typeBytes + data))
    }
    var raw: [UInt8] = []
    let stride = width * channels
    for row in 0..<height { raw += [0] + pixels[(row * stride)..<((row + 1) * stride)] }  // filter type 0
    let zlib: [UInt8] = [0x78, 0x01] + storedDeflate(raw) + bigEndian(adler32(raw))
    let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, channels == 1 ? 0 : 2, 0, 0, 0]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", [])
}

/// A valid uncompressed baseline TIFF (8-bit grey for 1 channel, RGB for 3) of interleaved
/// `pixels` in one strip, little-endian (`II`) or big-endian (`MM`), as UCSD's frames are stored.
public func makeTIFF(width: Int, height: Int, channels: Int, pixels: [UInt8], bigEndianOrder: Bool = false) -> [UInt8] {
    precondition((channels == 1 || channels == 3) && pixels.count == width * height * channels)
    func u16(_ v: Int) -> [UInt8] { bigEndianOrder ? [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
    func u32(_ v: Int) -> [UInt8] { bigEndianOrder ? bigEndian(UInt32(v)) : littleEndian(UInt32(v)) }
    // Header, then the pixels, then the three BitsPerSample values of RGB, then the IFD.
    let pixelStart = 8, bitsStart = pixelStart + pixels.count, ifdStart = bitsStart + 6
    // (tag, type (3 short, 4 long), count, value or offset): in ascending tag order.
    let entries: [(Int, Int, Int, Int)] = [
        (256, 4, 1, width), (257, 4, 1, height), (258, 3, channels, channels == 1 ? 8 : bitsStart), (259, 3, 1, 1),
        (262, 3, 1, channels == 1 ? 1 : 2), (273, 4, 1, pixelStart), (277, 3, 1, channels), (278, 4, 1, height),
        (279, 4, 1, pixels.count), (284, 3, 1, 1),
    ]
    var out: [UInt8] = (bigEndianOrder ? [0x4D, 0x4D] : [0x49, 0x49]) + u16(42) + u32(ifdStart) + pixels + u16(8) + u16(8) + u16(8)
    out += u16(entries.count)
    for (tag, type, count, value) in entries {
        // A short that fits sits in the first two bytes of the value field.
        out += u16(tag) + u16(type) + u32(count) + (type == 3 && count == 1 ? u16(value) + [0, 0] : u32(value))
    }
    return out + u32(0)
}

/// Whether two doubles agree to `tolerance`.
public func isNear(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
    abs(a - b) <= tolerance
}

/// Whether two float arrays agree element-wise to `tolerance`.
public func isNear(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

// MARK: Hand-made file formats

public func littleEndian(_ value: UInt32) -> [UInt8] { bigEndian(value).reversed() }

/// A gzip member holding `bytes` in stored DEFLATE blocks.
public func gzipStored(_ bytes: [UInt8]) -> [UInt8] {
    [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF] + storedDeflate(bytes)
        + littleEndian(crc32(bytes)) + littleEndian(UInt32(truncatingIfNeeded: bytes.count))
}

/// An unsigned-byte IDX file: magic `0 0 8 rank`, big-endian dimensions, then the values.
public func makeIDX(dimensions: [Int], values: [UInt8]) -> [UInt8] {
    [0, 0, 0x08, UInt8(dimensions.count)] + dimensions.flatMap { bigEndian(UInt32($0)) } + values
}
