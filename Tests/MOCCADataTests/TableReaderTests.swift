import Foundation
@testable import MOCCAData
import MOCCATestSupport
import Testing

// MARK: - Builders

/// `.npy` files built byte by byte, so that every header field can be made wrong.
enum NPYBytes {
    /// A `.npy` file: magic, version, a header dict padded with spaces to 64 bytes and
    /// ended by a newline (as numpy writes it), then `payload`.
    static func file(descr: String, fortran: Bool = false, shape: [Int], payload: [UInt8], version: UInt8 = 1,
                     header: String? = nil) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var dict = Array((header ?? "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }").utf8)
        let prefix = version == 1 ? 10 : 12
        while (prefix + dict.count + 1) % 64 != 0 { dict.append(0x20) }
        dict.append(0x0A)
        var bytes = NumPyArray.magic + [version, 0]
        if version == 1 {
            bytes += [UInt8(dict.count & 0xFF), UInt8(dict.count >> 8)]
        } else {
            bytes += (0..<4).map { UInt8((dict.count >> (8 * $0)) & 0xFF) }
        }
        return bytes + dict + payload
    }

    static func little<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
    }

    static func big<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { value in withUnsafeBytes(of: value.bigEndian) { Array($0) } }
    }

    static func f4(_ values: [Float]) -> [UInt8] { little(values.map(\.bitPattern)) }
    static func f8(_ values: [Double]) -> [UInt8] { little(values.map(\.bitPattern)) }
}

/// Zip archives of stored members built byte by byte, optionally with every size and
/// offset in Zip64 records, as large `.npz` files have them.
enum ZipBytesBuilder {
    static func u16(_ value: Int) -> [UInt8] { NPYBytes.little([UInt16(truncatingIfNeeded: value)]) }
    static func u32(_ value: Int) -> [UInt8] { NPYBytes.little([UInt32(truncatingIfNeeded: value)]) }
    static func u64(_ value: Int) -> [UInt8] { NPYBytes.little([UInt64(value)]) }

    static func archive(_ members: [(name: String, contents: [UInt8])], zip64: Bool = false, method: Int = 0) -> [UInt8] {
        var bytes: [UInt8] = [], central: [UInt8] = []
        let saturated = 0xFFFF_FFFF
        for (name, contents) in members {
            let offset = bytes.count, crc = Int(crc32(contents)), nameBytes = Array(name.utf8)
            let localExtra = zip64 ? u16(1) + u16(16) + u64(contents.count) + u64(contents.count) : []
            bytes += u32(0x0403_4B50) + u16(45) + u16(0) + u16(method) + u16(0) + u16(0x21) + u32(crc)
            bytes += u32(zip64 ? saturated : contents.count) + u32(zip64 ? saturated : contents.count)
            bytes += u16(nameBytes.count) + u16(localExtra.count) + nameBytes + localExtra + contents
            let centralExtra = zip64 ? u16(1) + u16(24) + u64(contents.count) + u64(contents.count) + u64(offset) : []
            central += u32(0x0201_4B50) + u16(45) + u16(45) + u16(0) + u16(method) + u16(0) + u16(0x21) + u32(crc)
            central += u32(zip64 ? saturated : contents.count) + u32(zip64 ? saturated : contents.count)
            central += u16(nameBytes.count) + u16(centralExtra.count) + u16(0) + u16(0) + u16(0) + u32(0)
            central += u32(zip64 ? saturated : offset) + nameBytes + centralExtra
        }
        let directoryOffset = bytes.count
        bytes += central
        if zip64 {
            let record = bytes.count
            bytes += u32(0x0606_4B50) + u64(44) + u16(45) + u16(45) + u32(0) + u32(0)
            bytes += u64(members.count) + u64(members.count) + u64(central.count) + u64(directoryOffset)
            bytes += u32(0x0706_4B50) + u32(0) + u64(record) + u32(1)
            bytes += u32(0x0605_4B50) + u16(0) + u16(0) + u16(0xFFFF) + u16(0xFFFF) + u32(saturated) + u32(saturated) + u16(0)
        } else {
            bytes += u32(0x0605_4B50) + u16(0) + u16(0) + u16(members.count) + u16(members.count)
            bytes += u32(central.count) + u32(directoryOffset) + u16(0)
        }
        return bytes
    }
}

/// Where the committed fixtures of `scripts/make-table-fixtures.py` are.
private let tableFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures/tables")

/// The malformed-file message of `error`, or a recorded issue.
private func malformedMessage(_ error: DataError?, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    guard case .malformed(_, let message)? = error else {
        Issue.record("expected DataError.malformed, got \(String(describing: error))", sourceLocation: sourceLocation)
        return ""
    }
    return message
}

// MARK: - NPY

@Suite("NPY reader")
struct NPYReaderTests {
    @Test func readsLittleEndianFloats() throws {
        let f4 = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f4", shape: [2, 3], payload: NPYBytes.f4([1, 2, 3, 4, 5, -6.5]))), path: "a.npy")
        #expect(f4.shape == [2, 3])
        #expect(f4.scalars == [1, 2, 3, 4, 5, -6.5])
        let f8 = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f8", shape: [2], payload: NPYBytes.f8([0.1, 1e300]))), path: "b.npy")
        #expect(f8.scalars == [0.1, 1e300])
        let half = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f2", shape: [3], payload: NPYBytes.little([UInt16(0x3C00), 0xC100, 0x0001]))), path: "h.npy")
        #expect(half.scalars == [1, -2.5, 0x1p-24])
    }

    @Test func readsIntegersAndBooleansOfEitherByteOrder() throws {
        func read(_ descr: String, _ payload: [UInt8], count: Int) throws -> [Double] {
            try NumPyArray.read(from: Data(NPYBytes.file(descr: descr, shape: [count], payload: payload)), path: "\(descr).npy").scalars
        }
        #expect(try read("|i1", [0xFF, 5], count: 2) == [-1, 5])
        #expect(try read("|u1", [0xFF, 5], count: 2) == [255, 5])
        #expect(try read("<i2", NPYBytes.little([Int16(-300), 7]), count: 2) == [-300, 7])
        #expect(try read("<u2", NPYBytes.little([UInt16(65535)]), count: 1) == [65535])
        #expect(try read("<i4", NPYBytes.little([Int32(-70000)]), count: 1) == [-70000])
        #expect(try read(">i4", NPYBytes.big([Int32(-70000)]), count: 1) == [-70000])
        #expect(try read("<u4", NPYBytes.little([UInt32(4_000_000_000)]), count: 1) == [4_000_000_000])
        #expect(try read("<i8", NPYBytes.little([Int64(-5), 1 << 40]), count: 2) == [-5, 0x1p40])
        #expect(try read(">u8", NPYBytes.big([UInt64(9)]), count: 1) == [9])
        #expect(try read(">f4", NPYBytes.big([Float(2.5).bitPattern]), count: 1) == [2.5])
        #expect(try read("|b1", [0, 1, 2], count: 3) == [0, 1, 1])
    }

    @Test func readsFormatVersions2And3() throws {
        for version: UInt8 in [2, 3] {
            let array = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f4", shape: [1, 2], payload: NPYBytes.f4([7, 8]), version: version)), path: "v.npy")
            #expect(array.shape == [1, 2] && array.scalars == [7, 8])
        }
        let error = #expect(throws: DataError.self) {
            try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f4", shape: [1], payload: NPYBytes.f4([7]), version: 4)), path: "v4.npy")
        }
        guard case .unsupported(_, let message)? = error else { Issue.record("expected unsupported, got \(String(describing: error))"); return }
        #expect(message.contains("4.0"))
    }

    @Test func readsEveryRank() throws {
        let scalar = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f8", shape: [], payload: NPYBytes.f8([3.5]))), path: "s.npy")
        #expect(scalar.shape == [] && scalar.scalars == [3.5])
        let empty = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f4", shape: [0, 3], payload: [])), path: "e.npy")
        #expect(empty.shape == [0, 3] && empty.scalars.isEmpty)
        let cube = try NumPyArray.read(from: Data(NPYBytes.file(descr: "|u1", shape: [2, 1, 2, 1], payload: [1, 2, 3, 4])), path: "c.npy")
        #expect(cube.shape == [2, 1, 2, 1] && cube.scalars == [1, 2, 3, 4])
    }

    @Test func transposesFortranOrder() throws {
        // The 2x3 matrix [[0, 1, 2], [3, 4, 5]] stored column by column.
        let matrix = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f4", fortran: true, shape: [2, 3], payload: NPYBytes.f4([0, 3, 1, 4, 2, 5]))), path: "f.npy")
        #expect(matrix.shape == [2, 3])
        #expect(matrix.scalars == [0, 1, 2, 3, 4, 5])
        // A 2x3x2 array whose element [i, j, k] is 100i + 10j + k, in column-major order.
        var columnMajor: [Float] = []
        for k in 0..<2 { for j in 0..<3 { for i in 0..<2 { columnMajor.append(Float(100 * i + 10 * j + k)) } } }
        let cube = try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f4", fortran: true, shape: [2, 3, 2], payload: NPYBytes.f4(columnMajor))), path: "f3.npy")
        var rowMajor: [Double] = []
        for i in 0..<2 { for j in 0..<3 { for k in 0..<2 { rowMajor.append(Double(100 * i + 10 * j + k)) } } }
        #expect(cube.scalars == rowMajor)
    }

    @Test func readsNumpysOwnFiles() throws {
        let fortran = try NumPyArray.read(contentsOf: tableFixtures.appendingPathComponent("fortran.npy"))
        #expect(fortran.shape == [2, 3])
        #expect(fortran.scalars == [0.5, 1.5, 2.5, 3.5, 4.5, 5.5])
        let bigInts = try NumPyArray.read(contentsOf: tableFixtures.appendingPathComponent("bigendian.npy"))
        #expect(bigInts.shape == [2, 2] && bigInts.scalars == [1, -2, 300_000, -4])
        let bigDoubles = try NumPyArray.read(contentsOf: tableFixtures.appendingPathComponent("bigendian-f8.npy"))
        #expect(bigDoubles.scalars == [1.5, -2.25, 1e300])
    }

    @Test func refusesDtypesThatHoldNoPlainNumbers() throws {
        for (descr, word) in [("|O", "objects"), ("<c16", "complex"), ("<U5", "strings"), ("<M8[ns]", "dates")] {
            let error = #expect(throws: DataError.self) {
                try NumPyArray.read(from: Data(NPYBytes.file(descr: descr, shape: [1], payload: [UInt8](repeating: 0, count: 16))), path: "d.npy")
            }
            guard case .unsupported(let path, let message)? = error else { Issue.record("\(descr): expected unsupported, got \(String(describing: error))"); continue }
            #expect(path == "d.npy")
            #expect(message.contains("'\(descr)'") && message.contains(word), "\(message)")
        }
        let structured = #expect(throws: DataError.self) {
            try NumPyArray.read(from: Data(NPYBytes.file(descr: "", shape: [1], payload: [0, 0, 0, 0],
                                                         header: "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }")), path: "s.npy")
        }
        guard case .unsupported(_, let message)? = structured else { Issue.record("expected unsupported, got \(String(describing: structured))"); return }
        #expect(message.contains("structured"))
    }

    @Test func reportsTruncationBadMagicAndShapeMismatch() throws {
        let valid = NPYBytes.file(descr: "<f4", shape: [2, 3], payload: NPYBytes.f4([1, 2, 3, 4, 5, 6]))
        let truncated = #expect(throws: DataError.self) { try NumPyArray.read(from: Data(valid.dropLast(3)), path: "t.npy") }
        #expect(malformedMessage(truncated).contains("expected 24 bytes of data for shape [2, 3] of <f4, found 21 (truncated)"))
        let extra = #expect(throws: DataError.self) { try NumPyArray.read(from: Data(valid + [0, 0, 0, 0]), path: "t.npy") }
        #expect(malformedMessage(extra).contains("4 bytes too many"))
        let mismatch = #expect(throws: DataError.self) {
            try NumPyArray.read(from: Data(NPYBytes.file(descr: "<f4", shape: [2, 4], payload: NPYBytes.f4([1, 2, 3]))), path: "m.npy")
        }
        #expect(malformedMessage(mismatch).contains("expected 32 bytes"))
        var badMagic = valid
        badMagic[1] = UInt8(ascii: "X")
        let magic = #expect(throws: DataError.self) { try NumPyArray.read(from: Data(badMagic), path: "m.npy") }
        #expect(malformedMessage(magic).contains("magic"))
        let header = #expect(throws: DataError.self) { try NumPyArray.read(from: Data(valid.prefix(40)), path: "h.npy") }
        #expect(malformedMessage(header).contains("truncated .npy header"))
        for length in 0..<valid.count {
            #expect(throws: DataError.self) { try NumPyArray.read(from: Data(valid.prefix(length)), path: "p.npy") }
        }
    }

    @Test func reportsHeadersThatDoNotParseAndHostileShapes() throws {
        let cases: [(String, String)] = [
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", "header"),
            ("['descr', '<f4']", "dict"),
            ("{'descr': '<f4', 'shape': (1,), }", "'fortran_order'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "non-negative"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", "more data than a file can hold"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", "64 bits"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': " + String(repeating: "(", count: 5000) + "}", "nesting"),
        ]
        for (header, phrase) in cases {
            let error = #expect(throws: DataError.self) {
                try NumPyArray.read(from: Data(NPYBytes.file(descr: "", shape: [], payload: [0, 0, 0, 0], header: header)), path: "h.npy")
            }
            #expect(malformedMessage(error).contains(phrase), "\(header): \(String(describing: error))")
        }
    }

    @Test func labelsMustBeIntegral() throws {
        #expect(try NumPyArray(shape: [3], scalars: [0, 1, -2]).asIntegers(path: "y.npy") == [0, 1, -2])
        let error = #expect(throws: DataError.self) { try NumPyArray(shape: [2], scalars: [1, 0.5]).asIntegers(path: "y.npy") }
        #expect(malformedMessage(error).contains("index 1"))
        #expect(throws: DataError.self) { try NumPyArray(shape: [1], scalars: [.nan]).asIntegers(path: "y.npy") }
        #expect(throws: DataError.self) { try NumPyArray(shape: [1], scalars: [1e30]).asIntegers(path: "y.npy") }
    }

    @Test func reportsAMissingFile() {
        let error = #expect(throws: DataError.self) { try NumPyArray.read(contentsOf: URL(fileURLWithPath: "/nonexistent/x.npy")) }
        guard case .missing? = error else { Issue.record("expected missing, got \(String(describing: error))"); return }
    }
}

// MARK: - NPZ

@Suite("NPZ reader")
struct NPZReaderTests {
    static let x = NPYBytes.file(descr: "<f4", shape: [2, 2], payload: NPYBytes.f4([1, 2, 3, 4]))
    static let y = NPYBytes.file(descr: "<i8", shape: [2], payload: NPYBytes.little([Int64(0), 1]))

    @Test func readsNumpysStoredAndDeflatedArchives() throws {
        for name in ["stored.npz", "deflated.npz"] {
            let archive = try NumPyArchive(contentsOf: tableFixtures.appendingPathComponent(name))
            #expect(archive.memberNames == ["x", "y"])
            let x = try archive.array(named: "x")
            #expect(x.shape == [3, 4])
            #expect(x.scalars == (0..<12).map { Double($0) / 4 })
            #expect(try archive.array(named: "y.npy").asIntegers(path: name) == [0, 1, 0])
        }
    }

    @Test func readsStoredArchivesWithAndWithoutZip64() throws {
        for zip64 in [false, true] {
            let bytes = ZipBytesBuilder.archive([("x.npy", Self.x), ("y.npy", Self.y), ("notes", [1, 2])], zip64: zip64)
            let archive = try NumPyArchive(data: Data(bytes), path: "a.npz")
            #expect(archive.memberNames == ["x", "y", "notes"])
            #expect(try archive.array(named: "x").scalars == [1, 2, 3, 4])
            #expect(try archive.array(named: "y").scalars == [0, 1])
        }
    }

    @Test func reportsAMissingMemberNamingTheOthers() throws {
        let archive = try NumPyArchive(data: Data(ZipBytesBuilder.archive([("x.npy", Self.x), ("y.npy", Self.y)])), path: "a.npz")
        let error = #expect(throws: DataError.self) { try archive.array(named: "labels") }
        guard case .missing(let path, let expected)? = error else { Issue.record("expected missing, got \(String(describing: error))"); return }
        #expect(path == "a.npz:labels")
        #expect(expected.contains("x, y"))
    }

    @Test func reportsACorruptDeflateStreamAndACRCMismatch() throws {
        var deflated = [UInt8](try Data(contentsOf: tableFixtures.appendingPathComponent("deflated.npz")))
        // x.npy's data starts after its 30-byte local header and 5-byte name.
        for index in 35..<45 { deflated[index] ^= 0xFF }
        let archive = try NumPyArchive(data: Data(deflated), path: "d.npz")
        let error = #expect(throws: DataError.self) { try archive.array(named: "x") }
        guard case .malformed(let path, _)? = error else { Issue.record("expected malformed, got \(String(describing: error))"); return }
        #expect(path == "d.npz:x")

        var stored = ZipBytesBuilder.archive([("x.npy", Self.x)])
        stored[30 + 5 + Self.x.count - 1] ^= 0x01
        let crc = #expect(throws: DataError.self) { try NumPyArchive(data: Data(stored), path: "s.npz").array(named: "x") }
        #expect(malformedMessage(crc).contains("CRC-32 mismatch"))
    }

    @Test func refusesOtherCompressionMethods() throws {
        let bzip2 = ZipBytesBuilder.archive([("x.npy", Self.x)], method: 12)
        let error = #expect(throws: DataError.self) { try NumPyArchive(data: Data(bzip2), path: "b.npz").array(named: "x") }
        guard case .unsupported(let path, let message)? = error else { Issue.record("expected unsupported, got \(String(describing: error))"); return }
        #expect(path == "b.npz:x" && message.contains("method 12"))
    }

    @Test func reportsAMemberThatIsNotAnArray() throws {
        let archive = try NumPyArchive(data: Data(ZipBytesBuilder.archive([("x.npy", [1, 2, 3])])), path: "a.npz")
        let error = #expect(throws: DataError.self) { try archive.array(named: "x") }
        guard case .malformed(let path, _)? = error else { Issue.record("expected malformed, got \(String(describing: error))"); return }
        #expect(path == "a.npz:x")
    }

    /// Every truncation and many single-byte corruptions of both kinds of archive are
    /// either read or refused with a DataError: none crashes.
    @Test func survivesTruncationAndCorruption() throws {
        let archives = [ZipBytesBuilder.archive([("x.npy", Self.x)], zip64: true),
                        [UInt8](try Data(contentsOf: tableFixtures.appendingPathComponent("deflated.npz")))]
        for bytes in archives {
            for length in 0..<bytes.count {
                #expect(throws: DataError.self) { try NumPyArchive(data: Data(bytes.prefix(length)), path: "t.npz").array(named: "x") }
            }
            for index in bytes.indices {
                for flip: UInt8 in [0x01, 0x80, 0xFF] {
                    var corrupt = bytes
                    corrupt[index] ^= flip
                    do {
                        let archive = try NumPyArchive(data: Data(corrupt), path: "c.npz")
                        for name in archive.memberNames { _ = try? archive.array(named: name) }
                    } catch {
                        #expect(error is DataError)
                    }
                }
            }
        }
    }

    @Test func refusesSomethingThatIsNotAZip() {
        let error = #expect(throws: DataError.self) { try NumPyArchive(data: Data(repeating: 7, count: 100), path: "n.npz") }
        #expect(malformedMessage(error).contains("end-of-central-directory"))
    }
}

// MARK: - CSV

@Suite("CSV reader")
struct CSVReaderTests {
    /// Writes `text` (as bytes) to a new temporary file.
    static func file(_ text: String, name: String = "t.csv") throws -> URL {
        try bytes(Array(text.utf8), name: name)
    }

    static func bytes(_ bytes: [UInt8], name: String = "t.csv") throws -> URL {
        let url = try makeTemporaryDirectory("csv").appendingPathComponent(name)
        try writeBytes(bytes, to: url)
        return url
    }

    static func read(_ text: String, _ options: CSVTableOptions = CSVTableOptions()) throws -> (table: NumericTable, imputed: [Float]?) {
        try CSVTable.read(contentsOf: file(text), options: options)
    }

    /// The malformed-file message of reading `text`.
    static func failure(_ text: String, _ options: CSVTableOptions = CSVTableOptions(),
                        sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) { try read(text, options) }
        return malformedMessage(error, sourceLocation: sourceLocation)
    }

    @Test func readsFeaturesAndLabels() throws {
        let (table, imputed) = try Self.read("id, a ,b,label,c\n7,1,2.5,0,-3\n8, 4 ,5e1,1,6\n", CSVTableOptions(labelColumn: "label", excludedColumns: ["id"]))
        #expect(imputed == nil)
        #expect(table.columnNames == ["a", "b", "c"])
        #expect(table.rowCount == 2 && table.columnCount == 3)
        #expect(table.values == [1, 2.5, -3, 4, 50, 6])
        #expect(table.labels == [0, 1])
        #expect(Array(table.row(1)) == [4, 50, 6])
        let chosen = try Self.read("a,b,c\n1,2,3\n", CSVTableOptions(featureColumns: ["c", "a"])).table
        #expect(chosen.columnNames == ["c", "a"] && chosen.values == [3, 1] && chosen.labels == nil)
    }

    @Test func acceptsIntegralFloatLabelsAndRefusesOthers() throws {
        let options = CSVTableOptions(labelColumn: "y")
        #expect(try Self.read("x,y\n1,1.0\n2,0.0\n3,-2\n", options).table.labels == [1, 0, -2])
        let message = Self.failure("x,y\n1,0\n2,0.5\n", options)
        #expect(message.contains("data row 2, column 'y'") && message.contains("'0.5'"))
        #expect(Self.failure("x,y\n1,\n", options).contains("empty label"))
    }

    @Test func reportsARaggedRow() {
        let message = Self.failure("a,b,c\n1,2,3\n4,5\n")
        #expect(message.contains("data row 2") && message.contains("has 2 fields, the header has 3"), "\(message)")
    }

    @Test func reportsANonNumericCellWithItsRowAndColumn() {
        let message = Self.failure("a,b\n1,2\n3,4\n5,abc\n")
        #expect(message.contains("data row 3, column 'b'") && message.contains("'abc' is not a number"), "\(message)")
        let long = Self.failure("a\n" + String(repeating: "z", count: 100) + "\n")
        #expect(long.contains("'" + String(repeating: "z", count: 40) + "…'") && !long.contains(String(repeating: "z", count: 41)))
    }

    @Test func rejectsMissingValuesByDefault() {
        for cell in ["", "NaN", "nan", "NA", " "] {
            let message = Self.failure("a,b\n1,2\n3,\(cell)\n")
            #expect(message.contains("data row 2, column 'b'") && message.contains("--impute median"), "\(cell): \(message)")
        }
        let infinite = Self.failure("a,b\n1,inf\n")
        #expect(infinite.contains("data row 1, column 'b'") && infinite.contains("infinite"), "\(infinite)")
        #expect(Self.failure("a\n1e39\n").contains("out-of-range"))
    }

    @Test func imputesMediansOverPresentRows() throws {
        let options = CSVTableOptions(labelColumn: "y", missingValues: .median)
        let (table, imputed) = try Self.read("a,b,y\n1,10,0\n,20,1\n3,NA,0\n5,nan,1\n", options)
        #expect(imputed == [3, 15])
        #expect(table.values == [1, 10, 3, 20, 3, 15, 5, 15])
        #expect(table.labels == [0, 1, 0, 1])
        #expect(Self.failure("a,b\n1,2\n-inf,3\n", CSVTableOptions(missingValues: .median)).contains("infinite"))
        #expect(Self.failure("a,b\n1,\n2,NA\n", CSVTableOptions(missingValues: .median)).contains("column 'b' has no values"))
    }

    @Test func reportsMissingAndDuplicateColumns() {
        for options in [CSVTableOptions(labelColumn: "label"), CSVTableOptions(featureColumns: ["a", "z"]),
                        CSVTableOptions(excludedColumns: ["id"])] {
            let error = #expect(throws: DataError.self) { try Self.read("a,b\n1,2\n", options) }
            guard case .missing(_, let expected)? = error else { Issue.record("expected missing, got \(String(describing: error))"); continue }
            #expect(expected.contains("'a', 'b'"), "\(expected)")
        }
        #expect(Self.failure("a,b,a\n1,2,3\n").contains("'a' twice"))
        #expect(Self.failure("").contains("header"))
        #expect(Self.failure("y\n1\n", CSVTableOptions(labelColumn: "y")).contains("no feature columns"))
    }

    @Test func readsQuotedFieldsCRLFAndABOM() throws {
        let text = "\u{FEFF}\"a, first\",\"b \"\"quoted\"\"\",note,y\r\n\"1.5\",2,\"x, y\nand z\",1\r\n3,\" 4 \",\"\",0\r\n\r\n\n"
        let options = CSVTableOptions(labelColumn: "y", excludedColumns: ["note"])
        let table = try Self.read(text, options).table
        #expect(table.columnNames == ["a, first", "b \"quoted\""])
        #expect(table.values == [1.5, 2, 3, 4])
        #expect(table.labels == [1, 0])
        // No trailing newline, and a line end inside quotes counted for the message's line.
        let message = Self.failure("a,b,n\n1,2,\"x\n\ny\"\n3,x,z", CSVTableOptions(excludedColumns: ["n"]))
        #expect(message.contains("data row 2, column 'b'") && message.contains("line 5"), "\(message)")
        #expect(Self.failure("a\n\"1\n").contains("never closed"))
    }

    @Test func readsOtherDelimiters() throws {
        let table = try Self.read("a;b\n1.5;\"2\"\n", CSVTableOptions(delimiter: ";")).table
        #expect(table.values == [1.5, 2])
        #expect(Self.failure("a;b\n1,5;2\n", CSVTableOptions(delimiter: ";")).contains("'1,5' is not a number"))
        let tabs = try Self.read("a\tb\n1\t2\n", CSVTableOptions(delimiter: "\t")).table
        #expect(tabs.values == [1, 2])
        #expect(throws: DataError.self) { try Self.read("a\n1\n", CSVTableOptions(delimiter: "é")) }
    }

    @Test func readsAHeaderOnlyFile() throws {
        let table = try Self.read("a,b,y\n", CSVTableOptions(labelColumn: "y")).table
        #expect(table.rowCount == 0 && table.columnNames == ["a", "b"] && table.labels == [])
    }

    /// A file of several chunks gives the same rows through the stream, chunk after
    /// chunk of rows, as read whole; and with chunks of a few bytes, every record is cut.
    @Test func streamsTheRowsThatTheWholeReadGives() throws {
        var text = "id,f0,f1,\"f 2\",label\n"
        var expected: [Float] = []
        for row in 0..<60_000 {
            let values = [Float(row) * 0.25, Float(row % 97) - 48.5, Float(row % 13) * 1e-3]
            expected += values
            text += "\(row),\(values[0]),\(values[1]),\"\(values[2])\",\(row % 2)\r\n"
        }
        #expect(text.utf8.count > CSVRecordReader.defaultChunkSize)
        let url = try Self.file(text)
        let options = CSVTableOptions(labelColumn: "label", excludedColumns: ["id"])
        let whole = try CSVTable.read(contentsOf: url, options: options).table
        #expect(whole.rowCount == 60_000 && whole.values == expected)
        var stream = try CSVRowStream(contentsOf: url, options: options, featureColumns: ["f0", "f1", "f 2"], fillValues: nil)
        #expect(stream.columnNames == ["f0", "f1", "f 2"])
        var values: [Float] = [], labels: [Int] = [], chunks = 0
        while let rows = try stream.next(maxRows: 7_000) {
            #expect(rows.rowCount <= 7_000)
            values += rows.values
            labels += rows.labels ?? []
            chunks += 1
        }
        #expect(chunks == 9 && values == whole.values && labels == whole.labels)
        #expect(try stream.next(maxRows: 10) == nil)

        let small = "\u{FEFF}a,\"b\"\r\n1,\"2,\"\"\"\r\n\r\n3,4\n\"5\",6"
        let smallURL = try Self.file(small.replacingOccurrences(of: "2,\"\"", with: "2"))
        let reference = try CSVTable.read(contentsOf: smallURL, options: CSVTableOptions()).table
        #expect(reference.values == [1, 2, 3, 4, 5, 6])
        for chunkSize in 1...9 {
            #expect(try CSVTable.read(contentsOf: smallURL, options: CSVTableOptions(), chunkSize: chunkSize).table == reference)
        }
    }

    @Test func streamFillsMissingCellsWithTheGivenValues() throws {
        let url = try Self.file("x,b,a\n1,,2\nNA,3,\n")
        let options = CSVTableOptions(missingValues: .median)
        var stream = try CSVRowStream(contentsOf: url, options: options, featureColumns: ["a", "b"], fillValues: [-1, -2])
        let rows = try #require(try stream.next(maxRows: 100))
        #expect(rows.columnNames == ["a", "b"] && rows.values == [2, -2, -1, 3])
        #expect(try stream.next(maxRows: 100) == nil)
        var rejecting = try CSVRowStream(contentsOf: url, options: CSVTableOptions(), featureColumns: ["a", "b"], fillValues: [-1, -2])
        #expect(throws: DataError.self) { try rejecting.next(maxRows: 100) }
        #expect(throws: DataError.self) { try CSVRowStream(contentsOf: url, options: options, featureColumns: ["a", "b"], fillValues: nil) }
        #expect(throws: DataError.self) { try CSVRowStream(contentsOf: url, options: options, featureColumns: ["a", "b"], fillValues: [1]) }
        let error = #expect(throws: DataError.self) { try CSVRowStream(contentsOf: url, options: options, featureColumns: ["a", "q"], fillValues: [1, 2]) }
        guard case .missing(_, let expected)? = error else { Issue.record("expected missing, got \(String(describing: error))"); return }
        #expect(expected.contains("'q'"))
    }

    /// The fast decimal path parses exactly as `Float(String)` does.
    @Test func parsesCellsAsFloatParsingDoes() {
        var generator = SystemRandomNumberGenerator()
        var texts = ["0", "-0", "+1", "1.", ".5", "0.1", "3.4028235e38", "1e-45", "16777217", "9007199254740993",
                     "0.30000000000000004", "1e22", "1e23", "123456789012345678901", "0x1p3", "1_0", "1e", "--1", "1e+5", ".", "e5"]
        for _ in 0..<20_000 {
            let mantissa = UInt64.random(in: 0..<(1 << 54), using: &generator)
            let exponent = Int.random(in: -25...25, using: &generator)
            texts.append("\(Bool.random(using: &generator) ? "-" : "")\(mantissa)e\(exponent)")
            texts.append(String(Float(bitPattern: UInt32.random(in: 0..<0x7F80_0000, using: &generator))))
            texts.append(String(Double.random(in: -1000...1000, using: &generator)))
        }
        for text in texts {
            let expected: CSVCell = switch Float(text) {
            case nil: .notANumber
            case let value? where value.isInfinite: .infinite
            case let value?: .number(value)
            }
            #expect(CSVCell(ArraySlice(Array(text.utf8))) == expected, "\(text)")
        }
    }

    /// How long the stream takes over 1,000,000 rows of 10 columns (MOCCA_SLOW_TESTS=1).
    @Test(.enabled(if: ProcessInfo.processInfo.environment["MOCCA_SLOW_TESTS"] == "1"))
    func timesAMillionRows() throws {
        var text = (0..<10).map { "c\($0)" }.joined(separator: ",") + "\n"
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<1_000_000 {
            text += (0..<10).map { _ in String(Float.random(in: -100...100, using: &generator)) }.joined(separator: ",") + "\n"
        }
        let url = try Self.file(text)
        let start = Date()
        var stream = try CSVRowStream(contentsOf: url, options: CSVTableOptions(), featureColumns: (0..<10).map { "c\($0)" }, fillValues: nil)
        var rows = 0
        while let chunk = try stream.next(maxRows: 65_536) { rows += chunk.rowCount }
        print("CSVRowStream: \(rows) rows x 10 columns, \(text.utf8.count) bytes, in \(Date().timeIntervalSince(start)) s")
        #expect(rows == 1_000_000)
    }
}

@Suite("Numeric table")
struct NumericTableTests {
    @Test func checksItsShape() throws {
        let table = try NumericTable(columnNames: ["a", "b"], values: [1, 2, 3, 4], labels: [0, 1])
        #expect(table.rowCount == 2 && Array(table.row(0)) == [1, 2])
        #expect(throws: DataError.self) { try NumericTable(columnNames: ["a", "b"], values: [1, 2, 3], labels: nil) }
        #expect(throws: DataError.self) { try NumericTable(columnNames: ["a"], values: [1, 2], labels: [0]) }
        #expect(throws: DataError.self) { try NumericTable(columnNames: [], values: [1], labels: nil) }
        #expect(try NumericTable(columnNames: [], values: [], labels: [1, 0]).rowCount == 2)
    }
}
