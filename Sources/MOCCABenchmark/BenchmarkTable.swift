import Foundation
import MOCCA

/// Mean ± standard deviation over seeds, per class and boundary, like the paper's Table I;
/// written as `table.md` and `table.json`.
public struct BenchmarkTable: Codable, Sendable, Equatable {
    /// The AUROCs of one class and boundary over its seeds.
    public struct Cell: Codable, Sendable, Equatable {
        /// The mean AUROC over the runs.
        public var mean: Double
        /// The population standard deviation over the runs.
        public var std: Double
        /// How many runs (seeds) the cell holds.
        public var runs: Int
    }

    /// The rows, in order.
    public var classes: [String]
    /// The boundaries, in column order.
    public var boundaries: [String]
    /// How the runs scored a tap: the paper's centroid distance or the nearest-neighbour one.
    public var tapScore: String
    /// `detector[boundary][class]`: AUROC of the detector's own fused score.
    public var detector: [String: [String: Cell]]
    /// `paper[boundary][class]`: AUROC of the paper's score, the plain mean over taps.
    public var paper: [String: [String: Cell]]
    /// Means over classes of the per-class means of ``detector``, per boundary.
    public var detectorMean: [String: Double]
    /// Means over classes of the per-class means of ``paper``, per boundary.
    public var paperMean: [String: Double]
    /// Per-channel AUROC averaged over classes and seeds, per boundary.
    public var perChannel: [String: [String: Double]]
    /// `subsets[boundary][fusion][channels]`: a channel subset's AUROC averaged over the
    /// runs that recorded subsets.
    public var subsets: [String: [String: [String: Double]]]
    /// How many runs recorded subsets, per boundary.
    public var subsetRuns: [String: Int]

    /// The table of `plan`'s runs on `dataset` made with `configuration` (any seed and
    /// boundary): other records in `records`, from other options or data sets sharing the
    /// results file, are left out.
    public init(selecting records: [BenchmarkRecord], plan: BenchmarkPlan, dataset: String, configuration: MOCCAConfiguration) {
        self.init(records: records.filter { $0.belongs(to: plan, dataset: dataset, configuration: configuration) },
                  classes: plan.classes, boundaries: plan.boundaries.map(\.rawValue), configuration: configuration)
    }

    /// The table of exactly `records`, with rows `classes` and columns `boundaries`;
    /// `configuration` says which tap score the runs used.
    public init(records: [BenchmarkRecord], classes: [String], boundaries: [String], configuration: MOCCAConfiguration) {
        self.classes = classes
        self.boundaries = boundaries
        switch configuration.tapScore {
        case .centroid: tapScore = "centroid distance (the paper's)"
        case .centroidEuclidean: tapScore = "unsquared centroid distance (the official MVTec AD code's)"
        case .nearestNeighbor: tapScore = "distance to the nearest normal training representation, k = \(configuration.neighbors) (beyond the paper)"
        }
        func cells(_ value: (BenchmarkRecord) -> Double) -> ([String: [String: Cell]], [String: Double]) {
            var table: [String: [String: Cell]] = [:], means: [String: Double] = [:]
            for boundary in boundaries {
                for name in classes {
                    let values = records.filter { $0.normalClass == name && $0.boundary == boundary }.map(value)
                    guard !values.isEmpty else { continue }
                    let mean = values.reduce(0, +) / Double(values.count)
                    let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
                    table[boundary, default: [:]][name] = Cell(mean: mean, std: std, runs: values.count)
                }
                let classMeans = (table[boundary] ?? [:]).values.map(\.mean)
                if !classMeans.isEmpty { means[boundary] = classMeans.reduce(0, +) / Double(classMeans.count) }
            }
            return (table, means)
        }
        (detector, detectorMean) = cells(\.auroc)
        (paper, paperMean) = cells(\.meanFusionAUROC)
        perChannel = [:]
        subsets = [:]
        subsetRuns = [:]
        for boundary in boundaries {
            let runs = records.filter { $0.boundary == boundary }
            var sums: [String: (Double, Int)] = [:]
            for (channel, auroc) in runs.flatMap(\.perChannelAUROC) {
                let (sum, count) = sums[channel] ?? (0, 0)
                sums[channel] = (sum + auroc, count + 1)
            }
            perChannel[boundary] = sums.mapValues { $0.0 / Double($0.1) }
            let withSubsets = runs.compactMap(\.subsetAUROC)
            guard !withSubsets.isEmpty else { continue }
            subsetRuns[boundary] = withSubsets.count
            var subsetSums: [String: [String: Double]] = [:]
            for run in withSubsets {
                for (fusion, values) in run {
                    for (subset, auroc) in values { subsetSums[fusion, default: [:]][subset, default: 0] += auroc }
                }
            }
            subsets[boundary] = subsetSums.mapValues { $0.mapValues { $0 / Double(withSubsets.count) } }
        }
    }

    /// The table in Markdown: a row per class (cells missing a run show `–`), the means,
    /// the per-channel means and the best channel subsets.
    public func markdown() -> String {
        let columns = boundaries.flatMap { ["\($0): mean of taps", "\($0): detector score"] }
        var lines = ["Tap score: \(tapScore). *Mean of taps* is the plain mean of the tap scores (the paper's fusion); *detector score* is the detector's own fused score.\n",
                     "| class | " + columns.joined(separator: " | ") + " |",
                     "|---|" + columns.map { _ in "---|" }.joined()]
        func text(_ cell: Cell?) -> String { cell.map { String(format: "%.3f ± %.3f (%d)", $0.mean, $0.std, $0.runs) } ?? "–" }
        func bold(_ value: Double?) -> String { value.map { String(format: "**%.3f**", $0) } ?? "–" }
        for name in classes {
            let row = boundaries.flatMap { [text(paper[$0]?[name]), text(detector[$0]?[name])] }
            lines.append("| \(name) | " + row.joined(separator: " | ") + " |")
        }
        lines.append("| **mean** | " + boundaries.flatMap { [bold(paperMean[$0]), bold(detectorMean[$0])] }.joined(separator: " | ") + " |")
        for b in boundaries {
            let taps = (perChannel[b] ?? [:]).sorted { $0.key < $1.key }.map { String(format: "%@ %.3f", $0.key, $0.value) }
            if !taps.isEmpty { lines.append("\nper-channel mean AUROC, \(b): " + taps.joined(separator: ", ")) }
        }
        for b in boundaries {
            guard let bySubset = subsets[b], let runs = subsetRuns[b] else { continue }
            lines.append("\nchannel subsets, \(b) (mean AUROC over the \(runs) runs that recorded them; best first):\n")
            lines.append("| channels | fusion | AUROC |\n|---|---|---|")
            let ranked = bySubset.flatMap { fusion, values in values.map { (fusion, $0.key, $0.value) } }
                .sorted { ($0.2, $1.1, $1.0) > ($1.2, $0.1, $0.0) }
            for (fusion, subset, auroc) in ranked.prefix(8) { lines.append(String(format: "| %@ | %@ | %.3f |", subset, fusion, auroc)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The table as pretty-printed JSON with sorted keys.
    public func json() throws -> Data { try BenchmarkJSON.encoder(pretty: true).encode(self) }
}
