import Foundation
import MOCCA
import MOCCABenchmark
import Testing

@Suite("Result store")
struct ResultStoreTests {
    static func store(_ label: String) throws -> (BenchmarkResultStore, URL) {
        let folder = try Fixtures.temporaryFolder(label)
        return (BenchmarkResultStore(url: folder.appendingPathComponent("results.jsonl")), folder)
    }

    @Test("records round-trip, with the tool version and commit")
    func roundTrip() throws {
        let (store, folder) = try Self.store("round-trip")
        defer { try? FileManager.default.removeItem(at: folder) }
        let empty = try store.load()
        #expect(empty.records.isEmpty && empty.warnings.isEmpty)
        let records = [Fixtures.record(seed: 0), Fixtures.record(seed: 1, boundary: .soft, auroc: .nan)]
        for record in records { try store.append(record) }
        let loaded = try store.load()
        #expect(loaded.warnings.isEmpty)
        #expect(loaded.records.count == 2)
        #expect(loaded.records[0] == records[0])
        #expect(loaded.records[1].auroc.isNaN)
        #expect(loaded.records.allSatisfy { $0.toolVersion == "9.9.9" && $0.gitCommit == Fixtures.provenance.gitCommit })
        let text = try String(contentsOf: store.url, encoding: .utf8)
        #expect(text.hasSuffix("\n") && text.split(separator: "\n").count == 2)
    }

    @Test("a torn last line is dropped with a warning, and the next append leaves it out")
    func tornLastLine() throws {
        let (store, folder) = try Self.store("torn")
        defer { try? FileManager.default.removeItem(at: folder) }
        try store.append(Fixtures.record(seed: 0))
        try store.append(Fixtures.record(seed: 1))
        // A kill in the middle of writing the third record.
        let third = try String(decoding: JSONEncoder().encode(Fixtures.record(seed: 2)), as: UTF8.self)
        let handle = try FileHandle(forWritingTo: store.url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(third.prefix(third.count / 2).utf8))
        try handle.close()

        let loaded = try store.load()
        #expect(loaded.records.map(\.seed) == [0, 1])
        #expect(loaded.warnings.count == 1)
        #expect(loaded.warnings.first?.contains("line 3") == true)

        try store.append(Fixtures.record(seed: 3))
        let repaired = try store.load()
        #expect(repaired.warnings.isEmpty)
        #expect(repaired.records.map(\.seed) == [0, 1, 3])
    }

    @Test("a corrupt line in the middle is an error naming the line")
    func corruptMiddleLine() throws {
        let (store, folder) = try Self.store("corrupt")
        defer { try? FileManager.default.removeItem(at: folder) }
        try store.append(Fixtures.record(seed: 0))
        let good = try String(contentsOf: store.url, encoding: .utf8)
        try Data((good + "{\"auroc\": 0.5}\n" + good).utf8).write(to: store.url)
        let error = #expect(throws: BenchmarkError.self) { try store.load() }
        guard case let .corruptResults(path, line, reason)? = error else {
            Issue.record("expected corruptResults, got \(String(describing: error))")
            return
        }
        #expect(path == store.url.path && line == 2)
        #expect(reason.contains("missing"), "\(reason)")
        // Appending must not paper over it either.
        #expect(throws: BenchmarkError.self) { try store.append(Fixtures.record(seed: 1)) }
        // A complete (newline-terminated) last line that is not a record is corrupt, not torn.
        try Data((good + "not json\n").utf8).write(to: store.url)
        #expect(throws: BenchmarkError.corruptResults(path: store.url.path, line: 2, reason: "not valid JSON")) { try store.load() }
    }

    @Test("records written before provenance and subsets were recorded still load")
    func olderRecords() throws {
        let (store, folder) = try Self.store("legacy")
        defer { try? FileManager.default.removeItem(at: folder) }
        // A line of results/cifar10/results.jsonl, written by an earlier version.
        let legacy = #"{"auroc":0.49143644444444456,"boundary":"hard","configuration":{"autoencoderEpochs":20,"autoencoderLearningRate":0.001,"autoencoderMilestones":[],"batchSize":64,"boundary":"hard","codeLength":128,"fusion":"mean","model":"cifar10-lenet","nu":0.1,"oneClassEpochs":10,"oneClassLearningRate":0.0001,"oneClassMilestones":[],"reconstructionChannel":true,"seed":0,"taps":["conv1","conv2","conv3","code"],"warmUpEpochs":3,"weightDecay":5e-07},"dataset":"cifar10","meanFusionAUROC":0.6432265555555559,"normalClass":"airplane","oneClassSeconds":459.6227844953537,"perChannelAUROC":{"code":0.6069863333333332,"conv1":0.4206285000000001},"pretrainSeconds":991.675085067749,"seed":0,"standardizedFusionAUROC":0.49143644444444456}"#
        try Data((legacy + "\n").utf8).write(to: store.url)
        let loaded = try store.load()
        let record = try #require(loaded.records.first)
        #expect(record.toolVersion == nil && record.gitCommit == nil && record.subsetAUROC == nil)
        #expect(record.normalClass == "airplane" && record.configuration.network.name == "cifar10-lenet")
        // A new record goes after it, and the old line is kept as it was.
        try store.append(Fixtures.record())
        let text = try String(contentsOf: store.url, encoding: .utf8)
        #expect(text.hasPrefix(legacy + "\n"))
        #expect(try store.load().records.count == 2)
    }
}
