import CZlib
import Foundation

/// Extracts one member of a zip archive: finds its data through the local header, then
/// copies it (method 0, stored) or inflates it (method 8, deflated), and checks its size
/// and CRC-32 against the central directory.
enum ZipMemberReader {
    /// The largest ratio of uncompressed to compressed size that deflate can reach
    /// (about 1032:1): a member that claims more is a lie or a bomb.
    static let maximumDeflateRatio = 1032

    /// The uncompressed bytes of `entry`.
    /// - Parameter path: names the member in errors, as `archive.npz:member`.
    /// - Throws: ``DataError/unsupported(path:message:)`` for encryption or a method other
    ///   than stored or deflated; ``DataError/malformed(path:message:)`` for a bad local
    ///   header, a corrupt deflate stream, or a size or CRC-32 mismatch.
    static func contents(of entry: ZipEntry, in bytes: ZipBytes, path: String) throws -> [UInt8] {
        func malformed(_ message: String) -> DataError { DataError.malformed(path: path, message: message) }
        guard entry.flags & 1 == 0 else { throw DataError.unsupported(path: path, message: "an encrypted zip member") }
        let header = entry.localHeaderOffset
        guard header <= bytes.count - 30, try bytes.uint32(at: header) == ZipDirectory.localSignature else {
            throw malformed("expected a local file header at offset \(header), found none (truncated or corrupt archive)")
        }
        let nameLength = try Int(bytes.uint16(at: header + 26)), extraLength = try Int(bytes.uint16(at: header + 28))
        // Sizes in the local header are zero when a data descriptor follows the data
        // (flag bit 3); otherwise they must agree with the central directory.
        if entry.flags & 8 == 0 {
            var local = entry
            local.compressedSize = try Int(bytes.uint32(at: header + 18))
            local.uncompressedSize = try Int(bytes.uint32(at: header + 22))
            try ZipDirectory.applyZip64Extra(bytes, start: header + 30 + nameLength, length: extraLength, to: &local,
                                             offsetToo: false, path: path)
            guard local.compressedSize == entry.compressedSize, local.uncompressedSize == entry.uncompressedSize else {
                throw malformed("the local header's sizes (\(local.compressedSize) compressed, \(local.uncompressedSize) uncompressed) differ from the central directory's (\(entry.compressedSize), \(entry.uncompressedSize))")
            }
        }
        let start = header + 30 + nameLength + extraLength
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw malformed("truncated: expected \(entry.compressedSize) bytes of member data at offset \(start), the archive has \(bytes.count)")
        }
        let output: [UInt8]
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw malformed("a stored member of \(entry.compressedSize) bytes declares \(entry.uncompressedSize) uncompressed")
            }
            output = [UInt8](try bytes.slice(start, entry.compressedSize))
        case 8:
            guard entry.uncompressedSize / maximumDeflateRatio <= entry.compressedSize else {
                throw malformed("declares \(entry.uncompressedSize) bytes from \(entry.compressedSize) compressed, more than deflate can produce (corrupt, or a zip bomb)")
            }
            output = try inflateRaw(bytes.slice(start, entry.compressedSize), expectedSize: entry.uncompressedSize, path: path)
        default:
            throw DataError.unsupported(path: path, message: "zip compression method \(entry.method); expected 0 (stored) or 8 (deflated), as numpy writes")
        }
        guard output.count == entry.uncompressedSize else {
            throw malformed("expected \(entry.uncompressedSize) uncompressed bytes, found \(output.count)")
        }
        let crc = checksum(output)
        guard crc == entry.crc32 else {
            throw malformed("CRC-32 mismatch: expected \(hex(entry.crc32)), computed \(hex(crc)) (corrupt data)")
        }
        return output
    }

    /// zlib's CRC-32 of `bytes`, fed at most 1 GiB at a time (its length is 32 bits).
    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = crc32(0, nil, 0)
            var offset = 0
            while offset < buffer.count {
                let length = min(buffer.count - offset, 1 << 30)
                crc = crc32(crc, buffer.baseAddress.map { $0 + offset }, uInt(length))
                offset += length
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// A raw deflate stream (no zlib or gzip wrapper, hence -MAX_WBITS) inflated, never to
    /// more than `expectedSize` bytes: memory grows with what the stream really produces,
    /// not with what the directory claims.
    static func inflateRaw(_ compressed: Data, expectedSize: Int, path: String) throws -> [UInt8] {
        let input = [UInt8](compressed)
        guard !input.isEmpty else {
            throw DataError.malformed(path: path, message: "truncated deflate stream: the member has no compressed bytes")
        }
        return try Inflate.inflate(input, .raw(size: expectedSize), path: path)
    }
}
