import Foundation
import MOCCA
import MOCCABenchmark
import Testing

@Suite("Plan and table")
struct PlanAndTableTests {
    @Test("runs come seed-major, grouped by (class, seed)")
    func seedMajor() throws {
        let plan = try BenchmarkPlan(classes: ["a", "b"], seeds: [3, 1], boundaries: [.hard, .soft])
        #expect(plan.groups.map { "\($0.normalClass)\($0.seed)" } == ["a3", "b3", "a1", "b1"])
        #expect(plan.runs.map(\.description) == [
            "a seed 3 hard", "a seed 3 soft", "b seed 3 hard", "b seed 3 soft",
            "a seed 1 hard", "a seed 1 soft", "b seed 1 hard", "b seed 1 soft",
        ])
    }

    @Test("an empty list or a duplicate is an error")
    func invalidPlans() {
        #expect(throws: BenchmarkError.invalidPlan("no seeds to run; name at least one")) {
            try BenchmarkPlan(classes: ["a"], seeds: [], boundaries: [.hard])
        }
        #expect(throws: BenchmarkError.invalidPlan("no classes to run; name at least one")) {
            try BenchmarkPlan(classes: [], seeds: [0], boundaries: [.hard])
        }
        #expect(throws: BenchmarkError.invalidPlan("no boundaries to run; name at least one")) {
            try BenchmarkPlan(classes: ["a"], seeds: [0], boundaries: [])
        }
        #expect(throws: BenchmarkError.invalidPlan("seeds lists 1 twice")) {
            try BenchmarkPlan(classes: ["a"], seeds: [1, 2, 1], boundaries: [.hard])
        }
    }

    @Test("classes are chosen by name or index, or all")
    func classSelection() throws {
        let names = ["cat", "dog", "frog"]
        #expect(try BenchmarkPlan.classes(nil, among: names) == names)
        #expect(try BenchmarkPlan.classes(["all"], among: names) == names)
        #expect(try BenchmarkPlan.classes(["2", "cat"], among: names) == ["frog", "cat"])
        #expect(throws: DataError.self) { try BenchmarkPlan.classes(["bird"], among: names) }
    }

    @Test("the table averages over seeds and keeps only the plan's runs with these options")
    func table() throws {
        let plan = try BenchmarkPlan(classes: ["blob", "stripes"], seeds: [0, 1], boundaries: [.hard, .soft])
        var otherOptions = Fixtures.record(seed: 0, auroc: 0.1)
        otherOptions.configuration.oneClassEpochs = 9
        var otherData = Fixtures.record(seed: 1, auroc: 0.1)
        otherData.dataset = "elsewhere"
        let records = [Fixtures.record(seed: 0, auroc: 0.6), Fixtures.record(seed: 1, auroc: 0.8),
                       Fixtures.record(seed: 7, auroc: 0.1), otherOptions, otherData]
        let table = BenchmarkTable(selecting: records, plan: plan, dataset: "synthetic", configuration: Fixtures.configuration())
        let cell = try #require(table.detector["hard"]?["blob"])
        #expect(cell.runs == 2 && abs(cell.mean - 0.7) < 1e-12 && abs(cell.std - 0.1) < 1e-12)
        #expect(abs((table.paper["hard"]?["blob"]?.mean ?? 0) - 0.6) < 1e-12)
        #expect(table.detector["soft"] == nil)
        #expect(abs((table.detectorMean["hard"] ?? 0) - 0.7) < 1e-12)
        let markdown = table.markdown()
        #expect(markdown.contains("| blob | 0.600 ± 0.100 (2) | 0.700 ± 0.100 (2) | – | – |"))
        #expect(markdown.contains("| stripes | – | – | – | – |"))
        let decoded = try JSONDecoder().decode(BenchmarkTable.self, from: table.json())
        #expect(decoded == table)
    }
}
