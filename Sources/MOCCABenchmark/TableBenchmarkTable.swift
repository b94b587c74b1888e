import Foundation

/// The table benchmark's summary: per data set and method, AUROC and AUPR averaged over
/// seeds; per method, the means over data sets and the total wall time.
public struct TableBenchmarkTable: Codable, Sendable, Equatable {
    /// The data sets, in the order first seen.
    public var datasets: [String]
    /// The methods, MOCCA's first, then the others in the order first seen.
    public var methods: [String]
    /// `auroc[method][dataset]`: the mean over seeds.
    public var auroc: [String: [String: Double]]
    /// `aupr[method][dataset]`: the mean over seeds.
    public var aupr: [String: [String: Double]]
    /// Per method, the mean over data sets of ``auroc``, over the data sets every method has.
    public var meanAUROC: [String: Double]
    /// Per method, the mean over data sets of ``aupr``, over the same data sets.
    public var meanAUPR: [String: Double]
    /// Per method, the standard deviation over seeds of the mean AUROC over data sets.
    public var seedSpreadAUROC: [String: Double]
    /// Per method, the wall seconds summed over its records.
    public var seconds: [String: Double]
    /// The seeds found.
    public var seeds: [UInt64]
    /// The data sets left out of the means because some method lacks them.
    public var incomplete: [String]

    /// Summarises `records`; the means cover the data sets on which every method has every seed.
    public init(records: [TableBenchmarkRecord]) {
        var datasets: [String] = [], methods = TableBenchmark.methods.filter { m in records.contains { $0.method == m } }
        for r in records {
            if !datasets.contains(r.dataset) { datasets.append(r.dataset) }
            if !methods.contains(r.method) { methods.append(r.method) }
        }
        let seeds = Array(Set(records.map(\.seed))).sorted()
        var auroc: [String: [String: Double]] = [:], aupr: [String: [String: Double]] = [:], seconds: [String: Double] = [:]
        var bySeed: [String: [UInt64: [String: Double]]] = [:]
        for method in methods {
            for dataset in datasets {
                let runs = records.filter { $0.method == method && $0.dataset == dataset }
                guard !runs.isEmpty else { continue }
                auroc[method, default: [:]][dataset] = runs.map(\.auroc).reduce(0, +) / Double(runs.count)
                aupr[method, default: [:]][dataset] = runs.map(\.aupr).reduce(0, +) / Double(runs.count)
                for run in runs { bySeed[method, default: [:]][run.seed, default: [:]][dataset] = run.auroc }
            }
            seconds[method] = records.filter { $0.method == method }.map(\.seconds).reduce(0, +)
        }
        let complete = datasets.filter { d in
            methods.allSatisfy { m in seeds.allSatisfy { bySeed[m]?[$0]?[d] != nil } }
        }
        func mean(_ values: [Double]) -> Double { values.isEmpty ? .nan : values.reduce(0, +) / Double(values.count) }
        var meanAUROC: [String: Double] = [:], meanAUPR: [String: Double] = [:], spread: [String: Double] = [:]
        for method in methods {
            meanAUROC[method] = mean(complete.compactMap { auroc[method]?[$0] })
            meanAUPR[method] = mean(complete.compactMap { aupr[method]?[$0] })
            let perSeed = seeds.map { seed in mean(complete.compactMap { bySeed[method]?[seed]?[$0] }) }
            let m = mean(perSeed)
            spread[method] = perSeed.count > 1 ? (perSeed.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(perSeed.count - 1)).squareRoot() : 0
        }
        self.datasets = datasets
        self.methods = methods
        self.auroc = auroc
        self.aupr = aupr
        self.meanAUROC = meanAUROC
        self.meanAUPR = meanAUPR
        self.seedSpreadAUROC = spread
        self.seconds = seconds
        self.seeds = seeds
        self.incomplete = datasets.filter { !complete.contains($0) }
    }

    /// The table as Markdown: one row per data set (AUROC), then the means and wall times.
    public func markdown() -> String {
        func cell(_ value: Double?) -> String { value.map { $0.isNaN ? "-" : String(format: "%.3f", $0) } ?? "-" }
        var lines = ["| data set | " + methods.joined(separator: " | ") + " |",
                     "|---|" + String(repeating: "---|", count: methods.count)]
        for dataset in datasets {
            lines.append("| \(dataset) | " + methods.map { cell(auroc[$0]?[dataset]) }.joined(separator: " | ") + " |")
        }
        let covered = datasets.count - incomplete.count
        lines.append("| **mean AUROC** (\(covered) sets) | " + methods.map { "**\(cell(meanAUROC[$0]))** ± \(cell(seedSpreadAUROC[$0]))" }.joined(separator: " | ") + " |")
        lines.append("| **mean AUPR** | " + methods.map { "**\(cell(meanAUPR[$0]))**" }.joined(separator: " | ") + " |")
        lines.append("| wall time, all runs | " + methods.map { String(format: "%.0f s", seconds[$0] ?? 0) }.joined(separator: " | ") + " |")
        var notes = ["AUROC per set: mean over seeds \(seeds.map(String.init).joined(separator: ", ")); ± is the standard deviation over seeds of the mean over sets."]
        if !incomplete.isEmpty { notes.append("Left out of the means (a method lacks a seed): \(incomplete.joined(separator: ", ")).") }
        return (lines + [""] + notes).joined(separator: "\n")
    }
}
