import ArgumentParser
import Foundation
import MOCCA
import MOCCAData
import MOCCANN

/// `mocca benchmark`: the paper's one-class protocol over classes, seeds and boundaries.
struct Benchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the one-class protocol for every class, seed and boundary; print a table like the paper's Table I.",
        discussion: """
            Resumable: each finished (class, seed, boundary) is appended to OUT/results.jsonl
            and skipped on a re-run. Both boundaries of a (class, seed) share one pretrained
            autoencoder, kept in OUT/pretrained/. The table (mean ± std AUROC over seeds)
            is written to OUT/table.md and OUT/table.json.
            """)

    @Argument(help: "The data set: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dataset: DatasetKind
    @Option(help: "The data set's folder.") var data: String
    @Option(help: "Comma-separated classes (names or indices), or 'all'.") var classes = "all"
    @Option(help: "Comma-separated seeds.") var seeds = "0,1"
    @Option(help: "Comma-separated boundaries: hard, soft.") var boundaries = "hard,soft"
    @Option(help: "The results folder.") var out: String
    @Option(help: "Channels to decode image-folder images to.") var channels = 3
    @Flag(help: "Train nothing: only rebuild the table from the stored results.") var tableOnly = false
    @OptionGroup var method: MethodOptions
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard channels == 1 || channels == 3 else { throw ValidationError("--channels must be 1 or 3, got \(channels)") }
    }

    func run() throws {
        try threads.apply()
        let seedList = try splitList(seeds).map { item in
            guard let seed = UInt64(item) else { throw ValidationError("--seeds: '\(item)' is not a non-negative integer") }
            return seed
        }
        let boundaryList = try splitList(boundaries).map { name in
            guard let boundary = MOCCAConfiguration.Boundary(rawValue: name) else { throw ValidationError("--boundaries: unknown boundary '\(name)'") }
            return boundary
        }
        try FileManager.default.createDirectory(atPath: (out as NSString).appendingPathComponent("pretrained"), withIntermediateDirectories: true)
        let store = ResultStore(path: (out as NSString).appendingPathComponent("results.jsonl"))
        var results = try store.load()

        let (allTrain, test) = try OneClassSplit.loadSplits(dataset, path: data, channels: channels)
        let classNames = allTrain.classNames
        let classList = classes == "all" ? classNames : try splitList(classes).map { classNames[try allTrain.classIndex($0)] }
        let progress = ProgressLine()
        // Seed-major, so that an interrupted run already covers every class once.
        for seed in seedList where !tableOnly {
            for className in classList {
                let split = try OneClassSplit(allTraining: allTrain, test: test, normalClass: className, path: data)
                var prepared: PreparedSplit?
                var base = try method.configuration(defaultNetwork: dataset.defaultNetwork, defaultRecipe: .paper)
                base.seed = seed
                // A stored run counts only if it used these very options on this data set.
                let pending = boundaryList.filter { b in
                    var expected = base
                    expected.boundary = b
                    return !results.contains { $0.dataset == dataset.rawValue && $0.normalClass == className && $0.configuration == expected }
                }
                guard !pending.isEmpty else { continue }
                if prepared == nil { prepared = try split.prepared() }
                guard let prepared else { continue }
                base.boundary = pending[0]
                let pretrained = try MOCCADetector(configuration: base)
                pretrained.preprocessor = prepared.preprocessor
                let weights = URL(fileURLWithPath: out).appendingPathComponent("pretrained/\(className)-seed\(seed)-\(pretrainingKey(base)).safetensors")
                let start = Date()
                if FileManager.default.fileExists(atPath: weights.path) {
                    try pretrained.network.load(from: weights)
                    printError("\(className) seed \(seed): reusing the pretrained autoencoder \(weights.path)")
                } else {
                    printError("\(className) seed \(seed): pretraining the autoencoder")
                    try pretrained.pretrain(normal: TensorSource(prepared.train), progress: progress.report)
                    try pretrained.network.save(to: weights)
                }
                let pretrainSeconds = Date().timeIntervalSince(start)
                for boundary in pending {
                    var configuration = base
                    configuration.boundary = boundary
                    let detector = try pretrained.copy(configuration: configuration)
                    let phaseStart = Date()
                    try detector.fitOneClass(normal: TensorSource(prepared.train), progress: progress.report)
                    let scores = try detector.score(prepared.test)
                    let report = try detector.evaluate(scores, labels: prepared.testLabels)
                    let result = BenchmarkResult(
                        dataset: dataset.rawValue, normalClass: className, seed: seed, boundary: boundary.rawValue,
                        auroc: report.overall.auroc,
                        perChannelAUROC: Dictionary(uniqueKeysWithValues: zip(report.channels, report.perChannel.map(\.auroc))),
                        meanFusionAUROC: report.meanFusion.auroc, standardizedFusionAUROC: report.standardizedFusion.auroc,
                        subsetAUROC: try detector.channelSubsetAUROCs(scores, labels: prepared.testLabels),
                        pretrainSeconds: pretrainSeconds, oneClassSeconds: Date().timeIntervalSince(phaseStart),
                        configuration: configuration)
                    try store.append(result)
                    results.append(result)
                    print(String(format: "%@ seed %llu %@: AUROC %.4f (%@)", className, seed, boundary.rawValue, result.auroc,
                                 report.channels.enumerated().map { String(format: "%@ %.4f", $0.element, report.perChannel[$0.offset].auroc) }.joined(separator: ", ")))
                }
            }
        }
        // The table covers the runs made with these options only (any seed and boundary).
        let reference = try method.configuration(defaultNetwork: dataset.defaultNetwork, defaultRecipe: .paper)
        func sameOptions(_ c: MOCCAConfiguration) -> Bool {
            var c = c
            c.seed = reference.seed
            c.boundary = reference.boundary
            return c == reference
        }
        let table = BenchmarkTable(
            results: results.filter {
                $0.dataset == dataset.rawValue && classList.contains($0.normalClass) && seedList.contains($0.seed) && sameOptions($0.configuration)
            },
            classes: classList, boundaries: boundaryList.map(\.rawValue), configuration: reference)
        let markdown = table.markdown()
        try writeAtomically(Data(markdown.utf8), to: (out as NSString).appendingPathComponent("table.md"))
        try writeAtomically(encodeJSON(table), to: (out as NSString).appendingPathComponent("table.json"))
        print(markdown)
    }
}

/// A short fingerprint of the options that shape phase 1 and of the data set, so that a
/// stored autoencoder is reused only for the very same pretraining.
func pretrainingKey(_ c: MOCCAConfiguration) -> String {
    let network = (try? encodeJSON(c.network)).map { String(decoding: $0, as: UTF8.self) } ?? c.network.name
    let text = "\(network)|\(c.autoencoderEpochs)|\(c.autoencoderLearningRate)|\(c.autoencoderMilestones)|\(c.weightDecay)|\(c.batchSize)|\(c.seed)"
    // FNV-1a, stable across runs (Swift's Hasher is seeded per process).
    let hash = text.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    return String(hash, radix: 16)
}

/// One finished (class, seed, boundary) run.
struct BenchmarkResult: Codable {
    var dataset: String
    var normalClass: String
    var seed: UInt64
    var boundary: String
    var auroc: Double
    var perChannelAUROC: [String: Double]
    var meanFusionAUROC: Double
    var standardizedFusionAUROC: Double
    /// `subsetAUROC[fusion][channels]`: AUROC of each channel subset (absent in results
    /// stored before subsets were recorded).
    var subsetAUROC: [String: [String: Double]]?
    var pretrainSeconds: Double
    var oneClassSeconds: Double
    var configuration: MOCCAConfiguration
}

/// Results kept as JSON lines, rewritten atomically on every append.
struct ResultStore {
    let path: String

    func load() throws -> [BenchmarkResult] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try String(decoding: data, as: UTF8.self).split(separator: "\n").enumerated().map { index, line in
            do { return try JSONDecoder().decode(BenchmarkResult.self, from: Data(line.utf8)) } catch {
                throw ValidationError("\(path), line \(index + 1): not a benchmark result (\(error)); move the file away to start afresh")
            }
        }
    }

    func append(_ result: BenchmarkResult) throws {
        let existing = FileManager.default.contents(atPath: path) ?? Data()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try writeAtomically(existing + encoder.encode(result) + Data("\n".utf8), to: path)
    }
}

/// Mean ± standard deviation over seeds, per class and boundary, like the paper's Table I.
struct BenchmarkTable: Codable {
    struct Cell: Codable { var mean: Double; var std: Double; var runs: Int }
    var classes: [String]
    var boundaries: [String]
    /// How the runs scored a tap: the paper's centroid distance or the nearest-neighbour one.
    var tapScore: String
    /// `detector[boundary][class]`: AUROC of the detector's own fused score.
    var detector: [String: [String: Cell]]
    /// `paper[boundary][class]`: AUROC of the paper's score, the plain mean over taps.
    var paper: [String: [String: Cell]]
    /// Means over classes of the per-class means.
    var detectorMean: [String: Double]
    var paperMean: [String: Double]
    /// Per-channel AUROC averaged over classes and seeds, per boundary.
    var perChannel: [String: [String: Double]]
    /// `subsets[boundary][fusion][channels]`: a channel subset's AUROC averaged over the
    /// runs that recorded subsets, and how many runs that is per boundary.
    var subsets: [String: [String: [String: Double]]]
    var subsetRuns: [String: Int]

    init(results: [BenchmarkResult], classes: [String], boundaries: [String], configuration: MOCCAConfiguration) {
        self.classes = classes
        self.boundaries = boundaries
        switch configuration.tapScore {
        case .centroid: tapScore = "centroid distance (the paper's)"
        case .nearestNeighbor: tapScore = "distance to the nearest normal training representation, k = \(configuration.neighbors) (beyond the paper)"
        }
        func cells(_ value: (BenchmarkResult) -> Double) -> ([String: [String: Cell]], [String: Double]) {
            var table: [String: [String: Cell]] = [:], means: [String: Double] = [:]
            for boundary in boundaries {
                for name in classes {
                    let values = results.filter { $0.normalClass == name && $0.boundary == boundary }.map(value)
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
        for boundary in boundaries {
            var sums: [String: (Double, Int)] = [:]
            for run in results where run.boundary == boundary {
                for (channel, auroc) in run.perChannelAUROC {
                    let (sum, count) = sums[channel] ?? (0, 0)
                    sums[channel] = (sum + auroc, count + 1)
                }
            }
            perChannel[boundary] = sums.mapValues { $0.0 / Double($0.1) }
        }
        subsets = [:]
        subsetRuns = [:]
        for boundary in boundaries {
            let runs = results.filter { $0.boundary == boundary }.compactMap(\.subsetAUROC)
            guard !runs.isEmpty else { continue }
            subsetRuns[boundary] = runs.count
            var sums: [String: [String: Double]] = [:]
            for run in runs {
                for (fusion, values) in run {
                    for (subset, auroc) in values { sums[fusion, default: [:]][subset, default: 0] += auroc }
                }
            }
            subsets[boundary] = sums.mapValues { $0.mapValues { $0 / Double(runs.count) } }
        }
    }

    func markdown() -> String {
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
            let ranked = bySubset.flatMap { fusion, values in values.map { (fusion, $0.key, $0.value) } }.sorted { $0.2 > $1.2 }
            for (fusion, subset, auroc) in ranked.prefix(8) { lines.append(String(format: "| %@ | %@ | %.3f |", subset, fusion, auroc)) }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
