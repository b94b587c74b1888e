import MOCCAData

/// PNG files through ImageDecoder (libpng, by signature): to RGB as stored, and to grey
/// resized to 7×5, so that the conversions and the resizer also see every size a header
/// can declare.
///
/// libpng refuses a chunk whose CRC is wrong, so most mutations would stop there: each
/// input is decoded as it is, then, if any chunk's CRC was wrong, again with every CRC
/// corrected, to reach the decoding behind the check.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    decode(bytes)
    let fixed = withCorrectCRCs(bytes)
    if fixed != bytes { decode(fixed) }
    return 0
}

func decode(_ bytes: [UInt8]) {
    if let image = try? ImageDecoder.decode(bytes: bytes, path: "fuzz", channels: 3) {
        precondition(image.pixels.count == 3 * image.width * image.height, "pixels disagree with the size")
        let small = try? ImageDecoder.decode(bytes: bytes, path: "fuzz", channels: 1, size: (height: 7, width: 5))
        precondition(small?.pixels.count == 35, "the resized image is not 7×5")
    }
}

/// `bytes` with the CRC of every whole chunk set to the CRC of its type and data.
func withCorrectCRCs(_ bytes: [UInt8]) -> [UInt8] {
    var bytes = bytes
    var offset = 8
    while offset + 12 <= bytes.count {
        let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
        guard length <= bytes.count - offset - 12 else { break }
        let crc = crc32(bytes[(offset + 4)..<(offset + 8 + length)])
        for i in 0..<4 { bytes[offset + 8 + length + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * i)) }
        offset += 12 + length
    }
    return bytes
}

/// The CRC-32 of PNG and zlib (polynomial 0xEDB88320).
func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return ~crc
}

let crcTable: [UInt32] = (0..<256).map { n in
    (0..<8).reduce(UInt32(n)) { c, _ in c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
}
