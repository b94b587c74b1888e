import Foundation
import MOCCA
import MOCCABenchmark
import Testing

/// Whole benchmarks on tiny synthetic data: one epoch per phase, batches of 8.
@Suite("Benchmark runner", .serialized)
struct RunnerTests {
    /// Thrown by an event handler to stop a run, as a kill would.
    struct Killed: Error {}

    static func runner(_ folder: URL, seeds: [UInt64] = [0, 1], configuration: MOCCAConfiguration = Fixtures.configuration()) throws -> BenchmarkRunner {
        BenchmarkRunner(data: try Fixtures.data(), plan: try BenchmarkPlan(classes: ["blob"], seeds: seeds, boundaries: [.hard, .soft]),
                        configuration: configuration, folder: BenchmarkFolder(url: folder), provenance: Fixtures.provenance)
    }

    static func storedRuns(_ folder: URL) throws -> [String] {
        try BenchmarkFolder(url: folder).results.load().records.map { "\($0.normalClass) seed \($0.seed) \($0.boundary)" }
    }

    @Test("a run killed after its first record resumes with the missing runs only, reusing the stored autoencoder")
    func resumeAfterKill() throws {
        let folder = try Fixtures.temporaryFolder("kill")
        defer { try? FileManager.default.removeItem(at: folder) }
        let runner = try Self.runner(folder)

        let first = EventLog()
        #expect(throws: Killed.self) {
            try runner.run { event in
                first.record(event)
                if case .finished = event { throw Killed() }
            }
        }
        #expect(first.pretrainings == ["blob/0"])
        #expect(try Self.storedRuns(folder) == ["blob seed 0 hard"])

        let second = EventLog()
        let table = try runner.run(events: second.record)
        #expect(second.reuses == ["blob/0"])
        #expect(second.pretrainings == ["blob/1"])
        #expect(second.finished.map { "\($0.seed) \($0.boundary)" } == ["0 soft", "1 hard", "1 soft"])
        #expect(try Self.storedRuns(folder) == ["blob seed 0 hard", "blob seed 0 soft", "blob seed 1 hard", "blob seed 1 soft"])
        #expect(table.detector["hard"]?["blob"]?.runs == 2 && table.detector["soft"]?["blob"]?.runs == 2)
        #expect(FileManager.default.fileExists(atPath: BenchmarkFolder(url: folder).tableMarkdown.path))
        #expect(FileManager.default.fileExists(atPath: BenchmarkFolder(url: folder).tableJSON.path))
        let weights = try FileManager.default.contentsOfDirectory(atPath: BenchmarkFolder(url: folder).pretrained.path)
        #expect(weights.count == 2)

        // Every record says which tool and commit made it, and holds the run's own options.
        let records = try BenchmarkFolder(url: folder).results.load().records
        #expect(records.allSatisfy { $0.toolVersion == "9.9.9" && $0.gitCommit == Fixtures.provenance.gitCommit })
        #expect(records.allSatisfy { $0.configuration.seed == $0.seed && $0.configuration.boundary.rawValue == $0.boundary })
        #expect(records.allSatisfy { $0.auroc.isFinite && $0.perChannelAUROC.keys.sorted() == ["code", "conv1", "conv2"] })

        // A write cut short in the last record: that run alone is redone.
        let store = BenchmarkFolder(url: folder).results
        let text = try String(contentsOf: store.url, encoding: .utf8)
        let original = try #require(try store.load().records.last)
        try Data(text.dropLast(40).utf8).write(to: store.url)
        let third = EventLog()
        try runner.run(events: third.record)
        #expect(third.warnings.count == 1)
        #expect(third.pretrainings.isEmpty && third.reuses == ["blob/1"])
        #expect(third.finished.map { "\($0.seed) \($0.boundary)" } == ["1 soft"])
        // The stored autoencoder gives the run the fresh one gave (BatchNorm statistics included).
        let redone = try #require(third.finished.first)
        #expect(abs(redone.auroc - original.auroc) < 1e-6 && abs(redone.meanFusionAUROC - original.meanFusionAUROC) < 1e-6)
        #expect(try Self.storedRuns(folder).count == 4)

        // Nothing left: nothing trained.
        let fourth = EventLog()
        try runner.run(events: fourth.record)
        #expect(fourth.finished.isEmpty && fourth.pretrainings.isEmpty && fourth.reuses.isEmpty)
    }

    @Test("a wider plan trains only its new runs; a phase-2 option reuses the autoencoder, a phase-1 option does not")
    func reuseByKey() throws {
        let folder = try Fixtures.temporaryFolder("reuse")
        defer { try? FileManager.default.removeItem(at: folder) }
        let partial = EventLog()
        try Self.runner(folder, seeds: [0]).run(events: partial.record)
        #expect(partial.pretrainings == ["blob/0"] && partial.finished.count == 2)

        let wider = EventLog()
        try Self.runner(folder).run(events: wider.record)
        #expect(wider.pretrainings == ["blob/1"] && wider.reuses.isEmpty)
        #expect(wider.finished.map(\.seed) == [1, 1])

        var phaseTwo = Fixtures.configuration()
        phaseTwo.oneClassEpochs = 2
        phaseTwo.nu = 0.2
        let second = EventLog()
        let table = try Self.runner(folder, seeds: [0], configuration: phaseTwo).run(events: second.record)
        #expect(second.pretrainings.isEmpty && second.reuses == ["blob/0"])
        #expect(second.finished.count == 2 && second.finished.allSatisfy { $0.configuration.oneClassEpochs == 2 })
        // The table holds the runs with these options only.
        #expect(table.detector["hard"]?["blob"]?.runs == 1)

        var phaseOne = Fixtures.configuration()
        phaseOne.autoencoderLearningRate = 2e-3
        let third = EventLog()
        try Self.runner(folder, seeds: [0], configuration: phaseOne).run(events: third.record)
        #expect(third.pretrainings == ["blob/0"] && third.reuses.isEmpty)
        #expect(try Self.storedRuns(folder).count == 8)
    }
}
