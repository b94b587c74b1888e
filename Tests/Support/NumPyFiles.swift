import Foundation

/// NumPy files written by the tests themselves: `.npy` arrays and stored (uncompressed)
/// `.npz` archives, byte for byte as NumPy writes them, so that no test needs Python.
public enum NumPyFiles {
    /// A 2-D little-endian float64 array (`<f8`, C order).
    public static func array(_ rows: [[Double]]) -> Data {
        let columns = rows.first?.count ?? 0
        var payload = Data()
        for row in rows { for value in row { withUnsafeBytes(of: value.bitPattern.littleEndian) { payload.append(contentsOf: $0) } } }
        return file(descriptor: "<f8", shape: [rows.count, columns], payload: payload)
    }

    /// A 1-D little-endian int64 array (`<i8`).
    public static func array(_ values: [Int64]) -> Data {
        var payload = Data()
        for value in values { withUnsafeBytes(of: value.littleEndian) { payload.append(contentsOf: $0) } }
        return file(descriptor: "<i8", shape: [values.count], payload: payload)
    }

    /// An `.npy` file (format 1.0) with the given dtype descriptor, shape and raw payload.
    public static func file(descriptor: String, fortranOrder: Bool = false, shape: [Int], payload: Data) -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descriptor)', 'fortran_order': \(fortranOrder ? "True" : "False"), 'shape': \(shapeText), }"
        // Magic (6) + version (2) + length (2) + header + newline, padded to 64 bytes.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        return data + Data(header.utf8) + payload
    }

    /// A stored zip of `name.npy` members, in name order, as `numpy.savez` writes it.
    public static func archive(_ members: [String: Data]) -> Data {
        var body = Data(), directory = Data()
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * UInt32($0))) & 0xFF) } }
        for (name, content) in members.sorted(by: { $0.key < $1.key }) {
            let fileName = Data((name + ".npy").utf8), crc = crc32(content), offset = UInt32(body.count)
            let common = le16(20) + le16(0) + le16(0) + le16(0) + le16(0x21) + le32(crc) + le32(UInt32(content.count)) + le32(UInt32(content.count))
                + le16(fileName.count) + le16(0)
            body.append(contentsOf: le32(0x0403_4B50) + common)
            body.append(fileName)
            body.append(content)
            directory.append(contentsOf: le32(0x0201_4B50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) + le32(offset))
            directory.append(fileName)
        }
        let end = le32(0x0605_4B50) + le16(0) + le16(0) + le16(members.count) + le16(members.count)
            + le32(UInt32(directory.count)) + le32(UInt32(body.count)) + le16(0)
        return body + directory + Data(end)
    }

    /// CRC-32 (the zip and PNG polynomial), bit by bit: test files are small.
    public static func crc32(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
        }
        return ~crc
    }
}
