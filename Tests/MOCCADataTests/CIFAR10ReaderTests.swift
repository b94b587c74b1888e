import Foundation
import MOCCAData
import MOCCACore
import MOCCATestSupport
import Testing

// MARK: - CIFAR-10 binary batches

@Suite("CIFAR-10 reader")
struct CIFAR10ReaderTests {
    static let recordSize = 3073

    /// One record: its label, then 3,072 pixel bytes derived from `seed`.
    static func record(label: UInt8, seed: Int) -> [UInt8] {
        [label] + (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed &* 31) }
    }

    static func pixels(seed: Int) -> [UInt8] { Array(record(label: 0, seed: seed).dropFirst()) }

    /// data_batch_k holds labels k−1 and k+4 (seeds 10k and 10k+1); test_batch labels 9, 0, 3.
    static func writeBatches(in directory: URL) throws {
        for k in 1...5 {
            try writeBytes(record(label: UInt8(k - 1), seed: 10 * k) + record(label: UInt8(k + 4), seed: 10 * k + 1),
                           to: directory.appendingPathComponent("data_batch_\(k).bin"))
        }
        try writeBytes(record(label: 9, seed: 100) + record(label: 0, seed: 101) + record(label: 3, seed: 102),
                       to: directory.appendingPathComponent("test_batch.bin"))
    }

    @Test func readsLabelsAndPixelsOfEveryTrainingBatchInOrder() throws {
        let directory = try makeTemporaryDirectory("cifar")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let train = try CIFAR10.loadBinary(directory: directory.path, split: .train)
        #expect(train.count == 10)
        #expect(train.imageShape == [3, 32, 32])
        #expect(train.labels == [0, 5, 1, 6, 2, 7, 3, 8, 4, 9])
        #expect(train.classNames == CIFAR10.classNames)
        let expected = (1...5).flatMap { Self.pixels(seed: 10 * $0) + Self.pixels(seed: 10 * $0 + 1) }
        #expect(train.pixels == expected)
        #expect(train.sources.first == "data_batch_1.bin#0")
        #expect(train.sources.last == "data_batch_5.bin#1")

        let test = try CIFAR10.loadBinary(directory: directory.path, split: .test)
        #expect(test.labels == [9, 0, 3])
        #expect(test.pixels == Self.pixels(seed: 100) + Self.pixels(seed: 101) + Self.pixels(seed: 102))
    }

    @Test func keepFilterSelectsLabelsWhileReading() throws {
        let directory = try makeTemporaryDirectory("cifar-keep")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let train = try CIFAR10.loadBinary(directory: directory.path, split: .train, keep: { $0 >= 5 })
        #expect(train.labels == [5, 6, 7, 8, 9])
        #expect(train.pixels == (1...5).flatMap { Self.pixels(seed: 10 * $0 + 1) })
        #expect(train.sources == (1...5).map { "data_batch_\($0).bin#1" })
        let none = try CIFAR10.loadBinary(directory: directory.path, split: .test, keep: { _ in false })
        #expect(none.count == 0)
        #expect(none.pixels.isEmpty)
    }

    @Test(arguments: [100, -1, -3072])
    func fileThatIsNotAWholeNumberOfRecordsIsMalformed(extra: Int) throws {
        let directory = try makeTemporaryDirectory("cifar-trunc")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("test_batch.bin")
        let bytes = [UInt8](try Data(contentsOf: url))
        try writeBytes(extra > 0 ? bytes + Array(repeating: 0, count: extra) : Array(bytes.dropLast(-extra)), to: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .test) }
        expectMalformed(error, path: url.path)
    }

    @Test func emptyBatchIsMalformed() throws {
        let directory = try makeTemporaryDirectory("cifar-empty")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("data_batch_2.bin")
        try writeBytes([], to: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .train) }
        expectMalformed(error, path: url.path)
    }

    @Test func labelOutsideZeroToNineIsMalformed() throws {
        let directory = try makeTemporaryDirectory("cifar-label")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("data_batch_3.bin")
        try writeBytes(Self.record(label: 2, seed: 1) + Self.record(label: 12, seed: 2), to: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .train) }
        expectMalformed(error, path: url.path)
        // A label filter does not hide the bad label.
        let filtered = #expect(throws: DataError.self) {
            try CIFAR10.loadBinary(directory: directory.path, split: .train, keep: { $0 == 0 })
        }
        expectMalformed(filtered, path: url.path)
    }

    @Test func missingFolderIsMissing() {
        let absent = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-absent-\(UUID().uuidString)").path
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: absent, split: .train) }
        guard case .missing(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == absent)
    }

    @Test func missingBatchFileIsMissingNamingIt() throws {
        let directory = try makeTemporaryDirectory("cifar-missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("data_batch_4.bin")
        try FileManager.default.removeItem(at: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .train) }
        guard case .missing(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == url.path)
    }

    @Test func oneClassSplitFindsTheBatchesFolderAndLabelsTheNormalClass() throws {
        let root = try makeTemporaryDirectory("cifar-split")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writeBatches(in: root.appendingPathComponent("cifar-10-batches-bin"))
        let split = try OneClassSplit.load(.cifar10, path: root.path, normalClass: "automobile")
        #expect(split.normalClass == 1)
        #expect(split.train.labels == [1])
        #expect(split.train.pixels == Self.pixels(seed: 20))
        #expect(split.testLabels == [1, 1, 1])
        let byIndex = try OneClassSplit.load(.cifar10, path: root.path, normalClass: "9")
        #expect(byIndex.testLabels == [0, 1, 1])
        let unknown = #expect(throws: DataError.self) { try OneClassSplit.load(.cifar10, path: root.path, normalClass: "unicorn") }
        guard case .unknownClass? = unknown else { Issue.record("got \(String(describing: unknown))"); return }
    }
}
