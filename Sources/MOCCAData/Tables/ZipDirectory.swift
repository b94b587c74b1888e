import Foundation

/// One member of a zip archive, as its central directory describes it.
struct ZipEntry: Sendable, Equatable {
    var name: String
    var method: UInt16
    var flags: UInt16
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int
}

/// Reads a zip archive's central directory: the end-of-central-directory record (and its
/// Zip64 counterpart), then one entry per member. Every offset and size is checked
/// against the archive's length before use, since they come from the file.
enum ZipDirectory {
    static let endSignature: UInt32 = 0x0605_4B50
    static let zip64EndSignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let centralSignature: UInt32 = 0x0201_4B50
    static let localSignature: UInt32 = 0x0403_4B50

    /// The members of the archive in `bytes`, in central-directory order.
    /// - Throws: ``DataError/malformed(path:message:)`` for anything that does not add up.
    static func entries(in bytes: ZipBytes, path: String) throws -> [ZipEntry] {
        func malformed(_ message: String) -> DataError { DataError.malformed(path: path, message: message) }
        // The end record is 22 bytes plus a comment of up to 65,535 bytes, at the very end.
        guard bytes.count >= 22 else {
            throw malformed("not a zip archive (.npz): expected at least 22 bytes, found \(bytes.count)")
        }
        var end = bytes.count - 22
        let lowest = max(0, bytes.count - 22 - 0xFFFF)
        while end >= lowest, try bytes.uint32(at: end) != endSignature { end -= 1 }
        guard end >= lowest else {
            throw malformed("not a zip archive (.npz): no end-of-central-directory record found")
        }
        var entryCount = try Int(bytes.uint16(at: end + 10))
        var directorySize = try Int(bytes.uint32(at: end + 12))
        var directoryOffset = try Int(bytes.uint32(at: end + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // Zip64: a locator just before the end record points at the Zip64 end record.
            let locator = end - 20
            guard locator >= 0, try bytes.uint32(at: locator) == zip64LocatorSignature else {
                throw malformed("expected a Zip64 end-of-central-directory locator before the end record, found none")
            }
            let record = try bytes.offset(at: locator + 8)
            guard record <= bytes.count - 56, try bytes.uint32(at: record) == zip64EndSignature else {
                throw malformed("expected a Zip64 end-of-central-directory record at offset \(record), found none")
            }
            entryCount = try bytes.offset(at: record + 32)
            directorySize = try bytes.offset(at: record + 40)
            directoryOffset = try bytes.offset(at: record + 48)
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw malformed("expected the central directory (\(directorySize) bytes at offset \(directoryOffset)) inside the \(bytes.count)-byte archive (truncated?)")
        }
        // Each entry takes at least 46 bytes: a larger count is a lie, not an allocation.
        guard entryCount <= directorySize / 46 else {
            throw malformed("expected at most \(directorySize / 46) entries in a \(directorySize)-byte central directory, the end record says \(entryCount)")
        }
        var entries: [ZipEntry] = []
        entries.reserveCapacity(entryCount)
        var position = directoryOffset
        let directoryEnd = directoryOffset + directorySize
        for index in 0..<entryCount {
            guard position <= directoryEnd - 46, try bytes.uint32(at: position) == centralSignature else {
                throw malformed("expected central directory entry \(index + 1) of \(entryCount) at offset \(position), found none")
            }
            let nameLength = try Int(bytes.uint16(at: position + 28))
            let extraLength = try Int(bytes.uint16(at: position + 30))
            let commentLength = try Int(bytes.uint16(at: position + 32))
            let nameStart = position + 46, extraStart = nameStart + nameLength
            let next = extraStart + extraLength + commentLength
            guard next <= directoryEnd else {
                throw malformed("central directory entry \(index + 1) runs past the end of the directory")
            }
            var entry = ZipEntry(
                name: String(decoding: try bytes.slice(nameStart, nameLength), as: UTF8.self),
                method: try bytes.uint16(at: position + 10), flags: try bytes.uint16(at: position + 8),
                crc32: try bytes.uint32(at: position + 16),
                compressedSize: try Int(bytes.uint32(at: position + 20)),
                uncompressedSize: try Int(bytes.uint32(at: position + 24)),
                localHeaderOffset: try Int(bytes.uint32(at: position + 42)))
            try applyZip64Extra(bytes, start: extraStart, length: extraLength, to: &entry, offsetToo: true, path: path)
            entries.append(entry)
            position = next
        }
        return entries
    }

    /// Replaces the sizes (and, in the central directory, the offset) saturated at
    /// 0xFFFFFFFF by the 64-bit values of the Zip64 extra field (id 1), which holds only the
    /// saturated ones, in the order uncompressed size, compressed size, offset.
    static func applyZip64Extra(_ bytes: ZipBytes, start: Int, length: Int, to entry: inout ZipEntry,
                                offsetToo: Bool, path: String) throws {
        let saturated = 0xFFFF_FFFF
        guard entry.uncompressedSize == saturated || entry.compressedSize == saturated
                || (offsetToo && entry.localHeaderOffset == saturated) else { return }
        var field = start
        let end = start + length
        while field + 4 <= end {
            let id = try bytes.uint16(at: field), size = try Int(bytes.uint16(at: field + 2))
            guard field + 4 + size <= end else { break }
            if id == 1 {
                var value = field + 4
                let valueEnd = value + size
                func next() throws -> Int {
                    guard value + 8 <= valueEnd else {
                        throw DataError.malformed(path: path, message: "member '\(entry.name)': its Zip64 extra field is too short for the sizes it should hold")
                    }
                    defer { value += 8 }
                    return try bytes.offset(at: value)
                }
                if entry.uncompressedSize == saturated { entry.uncompressedSize = try next() }
                if entry.compressedSize == saturated { entry.compressedSize = try next() }
                if offsetToo, entry.localHeaderOffset == saturated { entry.localHeaderOffset = try next() }
                return
            }
            field += 4 + size
        }
        throw DataError.malformed(path: path, message: "member '\(entry.name)': sizes saturated at 0xFFFFFFFF but no Zip64 extra field")
    }
}

/// An archive's bytes with bounds-checked little-endian reads: every read of a field
/// whose position came from the file goes through here.
struct ZipBytes: Sendable {
    let data: Data
    let path: String

    init(_ data: Data, path: String) {
        // A slice of a larger `Data` does not start at index 0; a copy does.
        self.data = data.startIndex == 0 ? data : Data(data)
        self.path = path
    }

    var count: Int { data.count }

    private func check(_ offset: Int, _ length: Int) throws {
        guard offset >= 0, length >= 0, offset <= data.count, length <= data.count - offset else {
            throw DataError.malformed(path: path, message: "truncated zip archive: expected \(length) bytes at offset \(offset), the archive has \(data.count)")
        }
    }

    func uint16(at offset: Int) throws -> UInt16 {
        try check(offset, 2)
        return UInt16(data[offset]) | UInt16(data[offset + 1]) << 8
    }

    func uint32(at offset: Int) throws -> UInt32 {
        try check(offset, 4)
        return (0..<4).reduce(0) { $0 | UInt32(data[offset + $1]) << (8 * $1) }
    }

    /// A 64-bit size or offset; one beyond `Int.max` cannot be inside any file.
    func offset(at position: Int) throws -> Int {
        try check(position, 8)
        let value = (0..<8).reduce(UInt64(0)) { $0 | UInt64(data[position + $1]) << (8 * UInt64($1)) }
        guard value <= UInt64(Int.max) else {
            throw DataError.malformed(path: path, message: "zip size or offset \(value) at offset \(position) is beyond any file")
        }
        return Int(value)
    }

    func slice(_ offset: Int, _ length: Int) throws -> Data {
        try check(offset, length)
        return data[offset..<(offset + length)]
    }
}
