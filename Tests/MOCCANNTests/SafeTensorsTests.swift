import Foundation
import MOCCACore
import MOCCANN
import MOCCATestSupport
import Testing

@Suite("SafeTensors")
struct SafeTensorsTests {
    /// The contents of `safetensors_interop.safetensors`, written there by Python's `safetensors`.
    static func interopContents() -> SafeTensors.Contents {
        SafeTensors.Contents(
            tensors: ["a": deterministicFill([2, 3], seed: 60), "b.weight": deterministicFill([4], seed: 61),
                      "c": deterministicFill([1, 2, 2, 1], seed: 62)],
            metadata: ["format": "pt", "note": "interop"])
    }

    /// A fresh empty directory, removed by the caller.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-safetensors-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    // MARK: Interoperability with Python's safetensors

    @Test func readsTheFileWrittenByPython() throws {
        let contents = try Fixtures.load("safetensors_interop")
        let expected = Self.interopContents()
        #expect(Set(contents.tensors.keys) == ["a", "b.weight", "c"])
        for (name, tensor) in expected.tensors {
            let read = try contents.tensor(name)
            #expect(read.shape == tensor.shape, "\(name)")
            #expect(read.scalars == tensor.scalars, "\(name)")
        }
        #expect(contents.metadata == ["format": "pt", "note": "interop"])
    }

    /// Byte equality with the file Python wrote means Python reads what Swift writes.
    @Test func encodingIsByteIdenticalToPythonsFile() throws {
        let encoded = try SafeTensors.encode(Self.interopContents())
        let file = try Data(contentsOf: Fixtures.url("safetensors_interop.safetensors"))
        #expect(encoded == file, "\(encoded.count) bytes encoded vs \(file.count) in the fixture")
        // The header alone, including its padding, matches Python's.
        let header = try Data(contentsOf: Fixtures.url("safetensors_interop.header.txt"))
        let length = Int(encoded.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        #expect(length == header.count)
        #expect(encoded.subdata(in: 8..<(8 + min(length, encoded.count - 8))) == header)
    }

    @Test func writeThenReadRoundTrips() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        let contents = SafeTensors.Contents(
            tensors: ["layer.weight": deterministicFill([3, 4, 2], seed: 3), "scalar": Tensor(7),
                      "bias": deterministicFill([5], seed: 4)],
            metadata: ["quote\"and\\backslash": "line\nbreak\ttab", "unicode": "héllo ✓"])
        try SafeTensors.write(contents, to: url)
        let read = try SafeTensors.read(from: url)
        #expect(Set(read.tensors.keys) == Set(contents.tensors.keys))
        for (name, tensor) in contents.tensors {
            let back = try read.tensor(name)
            #expect(back.shape == tensor.shape, "\(name)")
            #expect(back.scalars == tensor.scalars, "\(name)")
        }
        #expect(read.metadata == contents.metadata)
        // Re-encoding what was read gives the same bytes.
        #expect(try SafeTensors.encode(read) == Data(contentsOf: url))
    }

    /// A tensor with a zero dimension holds no bytes: its offsets `[k, k]` coincide with the
    /// start of the next tensor, which the format allows (Python's `safetensors` writes and
    /// reads such files). Sixteen such pairs make the check independent of the order in which
    /// the decoder happens to visit the header's entries (a dictionary, ordered at random).
    @Test func zeroSizeTensorsRoundTrip() throws {
        var tensors: [String: Tensor] = [:]
        for pair in 0..<16 {
            tensors[String(format: "t%02d.a", pair)] = Tensor(zeros: [0, 3])
            tensors[String(format: "t%02d.b", pair)] = deterministicFill([2], seed: pair)
        }
        let read = try SafeTensors.decode(SafeTensors.encode(.init(tensors: tensors)))
        #expect(Set(read.tensors.keys) == Set(tensors.keys))
        for (name, tensor) in tensors {
            #expect(try read.tensor(name).shape == tensor.shape, "\(name)")
            #expect(try read.tensor(name).scalars == tensor.scalars, "\(name)")
        }
    }

    /// A convolution output may keep a blocked oneDNN layout (`nChw8c`, `nChw16c`); encoding
    /// must write its values row-major.
    @Test func encodeWritesABlockedLayoutTensorRowMajor() throws {
        let conv = try Tensor.convolution2d(deterministicFill([1, 3, 6, 6], seed: 1),
                                            weight: deterministicFill([16, 3, 3, 3], seed: 2), padding: 1)
        // `encode` reads `plain()`'s result through `withUnsafeBufferPointer`, which traps
        // unless the result is plain: stop here, rather than crash the test run, if it is not.
        try #require(try conv.plain().isPlain, "Tensor.plain() of a \(conv.isPlain ? "plain" : "blocked") tensor is not plain")
        let read = try SafeTensors.decode(SafeTensors.encode(.init(tensors: ["conv": conv])))
        #expect(try read.tensor("conv").scalars == conv.scalars)
    }

    @Test func writeReplacesAnExistingFile() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("weights.safetensors")
        try SafeTensors.write(.init(tensors: ["a": Tensor(zeros: [100])]), to: url)
        try SafeTensors.write(.init(tensors: ["b": Tensor(1)]), to: url)
        let read = try SafeTensors.read(from: url)
        #expect(Array(read.tensors.keys) == ["b"])
    }

    @Test func decodesOtherFloatTypes() throws {
        var body = Data()
        for value in [1.5, -2.25] as [Double] { withUnsafeBytes(of: value.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        // BF16 is the top half of a float32; F16 1.0 is 0x3C00, -2 is 0xC000.
        for bits in [Float(3.5).bitPattern >> 16, Float(-0.5).bitPattern >> 16] {
            withUnsafeBytes(of: UInt16(bits).littleEndian) { body.append(contentsOf: $0) }
        }
        for bits: UInt16 in [0x3C00, 0xC000] { withUnsafeBytes(of: bits.littleEndian) { body.append(contentsOf: $0) } }
        let header = #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]},"#
            + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[16,20]},"#
            + #""h":{"dtype":"F16","shape":[2],"data_offsets":[20,24]}}"#
        let contents = try SafeTensors.decode(Self.file(header: header, body: body))
        #expect(try contents.tensor("d").scalars == [1.5, -2.25])
        #expect(try contents.tensor("b").scalars == [3.5, -0.5])
        #expect(try contents.tensor("h").scalars == [1, -2])
    }

    // MARK: Malformed bytes

    /// An 8-byte little-endian header length, `header`, then `body`.
    static func file(header: String, body: Data = Data(), claimedLength: UInt64? = nil) -> Data {
        let headerBytes = Data(header.utf8)
        var data = Data()
        withUnsafeBytes(of: (claimedLength ?? UInt64(headerBytes.count)).littleEndian) { data.append(contentsOf: $0) }
        return data + headerBytes + body
    }

    /// The problem `decode` throws for `data`, or nil (recorded as an issue) when it does not throw.
    func problem(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) -> SafeTensorsError.Problem? {
        do {
            _ = try SafeTensors.decode(data)
            Issue.record("decoding succeeded", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// A header for one F32 tensor `a`.
    static func entry(shape: [Int], offsets: [Int]) -> String {
        #"{"a":{"dtype":"F32","shape":\#(shape),"data_offsets":\#(offsets)}}"#
    }

    @Test func fewerThanEightBytesIsTruncated() {
        guard case .truncated(let message)? = problem(Data([1, 2, 3])) else { Issue.record("expected .truncated"); return }
        #expect(message.contains("3 bytes"))
    }

    @Test func headerLengthBeyondTheFileIsTruncated() {
        guard case .truncated? = problem(Self.file(header: "{}", claimedLength: 100)) else { Issue.record("expected .truncated"); return }
        // A length that overflows Int must not crash either.
        guard case .truncated? = problem(Self.file(header: "{}", claimedLength: .max)) else { Issue.record("expected .truncated"); return }
    }

    @Test func headerThatIsNotJSONIsRejected() {
        guard case .badHeader? = problem(Self.file(header: "not json")) else { Issue.record("expected .badHeader"); return }
        guard case .badHeader? = problem(Self.file(header: "[1, 2]")) else { Issue.record("a JSON array is not a header"); return }
    }

    @Test func entryMissingFieldsIsRejected() {
        let missingOffsets = #"{"a":{"dtype":"F32","shape":[1]}}"#
        guard case .badHeader(let message)? = problem(Self.file(header: missingOffsets, body: Data(count: 4))) else {
            Issue.record("expected .badHeader"); return
        }
        #expect(message.contains("'a'"))
        let missingDtype = #"{"a":{"shape":[1],"data_offsets":[0,4]}}"#
        guard case .badHeader? = problem(Self.file(header: missingDtype, body: Data(count: 4))) else { Issue.record("expected .badHeader"); return }
        let badMetadata = #"{"__metadata__":{"n":1}}"#
        guard case .badHeader? = problem(Self.file(header: badMetadata)) else { Issue.record("non-string metadata"); return }
    }

    @Test func unsupportedDtypeIsRejected() {
        let header = #"{"counts":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}"#
        let result = problem(Self.file(header: header, body: Data(count: 8)))
        #expect(result == .unsupportedType(name: "counts", dtype: "I32"))
        #expect(result?.description.contains("I32") == true)
    }

    @Test func offsetsThatDoNotMatchTheShapeAreRejected() {
        guard case .badHeader? = problem(Self.file(header: Self.entry(shape: [2], offsets: [0, 4]), body: Data(count: 4))) else {
            Issue.record("expected .badHeader"); return
        }
        guard case .badHeader? = problem(Self.file(header: Self.entry(shape: [1], offsets: [4, 0]), body: Data(count: 4))) else {
            Issue.record("reversed offsets: expected .badHeader"); return
        }
    }

    @Test func dataShorterThanTheOffsetsIsTruncated() {
        guard case .truncated? = problem(Self.file(header: Self.entry(shape: [2], offsets: [0, 8]), body: Data(count: 4))) else {
            Issue.record("expected .truncated"); return
        }
    }

    @Test func gapsAndTrailingBytesAreRejected() {
        let gap = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
        guard case .badHeader(let message)? = problem(Self.file(header: gap, body: Data(count: 12))) else {
            Issue.record("gap: expected .badHeader"); return
        }
        #expect(message.contains("'b'"))
        let overlap = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        guard case .badHeader? = problem(Self.file(header: overlap, body: Data(count: 8))) else {
            Issue.record("overlap: expected .badHeader"); return
        }
        guard case .badHeader? = problem(Self.file(header: Self.entry(shape: [1], offsets: [0, 4]), body: Data(count: 8))) else {
            Issue.record("trailing bytes: expected .badHeader"); return
        }
        // The same layouts without the defect decode.
        #expect(throws: Never.self) { try SafeTensors.decode(Self.file(header: Self.entry(shape: [1], offsets: [0, 4]), body: Data(count: 4))) }
    }

    // MARK: Files

    @Test func missingFileIsUnreadableAndNamesThePath() throws {
        let url = URL(fileURLWithPath: "/nonexistent-mocca-dir/missing.safetensors")
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors.read(from: url) }
        guard case .unreadable(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == url.path)
        #expect(error!.description.contains(url.path))
    }

    @Test func malformedFileNamesThePathAndTheProblem() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("short.safetensors")
        try Data([1, 2, 3]).write(to: url)
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors.read(from: url) }
        guard case .malformed(let path, .truncated)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == url.path)
        #expect(error!.description.contains(url.path) && error!.description.contains("truncated"))
    }

    /// Running as root, a read-only directory does not stop a write; a missing parent does.
    @Test func writeIntoAMissingDirectoryIsUnwritable() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("no/such/dir/out.safetensors")
        let error = #expect(throws: SafeTensorsError.self) {
            try SafeTensors.write(.init(tensors: ["a": Tensor(1)]), to: url)
        }
        guard case .unwritable(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == url.path)
        #expect(error!.description.contains(url.path))
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test func writeOverADirectoryIsUnwritableAndLeavesItAlone() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let target = directory.appendingPathComponent("taken")
        try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
        let error = #expect(throws: SafeTensorsError.self) { try SafeTensors.write(.init(tensors: ["a": Tensor(1)]), to: target) }
        guard case .unwritable(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == target.path)
        var isDirectory: ObjCBool = false
        #expect(FileManager.default.fileExists(atPath: target.path, isDirectory: &isDirectory) && isDirectory.boolValue)
    }
}
