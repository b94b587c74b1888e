import ArgumentParser
import Foundation
import MOCCA

/// `mocca inspection-benchmark`: seeds × boundaries on an inspection data set, every
/// score from the same runs, options chosen on validation and test reported once.
struct InspectionBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspection-benchmark",
        abstract: "Train an inspection data set for several seeds and both boundaries; compare scores on validation, report test.",
        discussion: """
            For each seed (which also seeds the split), the autoencoder is trained once and both \
            boundaries' one-class phases start from it. Each run is evaluated on validation and \
            test with four image-level scores from the same trained detector: the nearest-neighbour \
            taps, the paper's centroid score, the reconstruction error, and the detector's own \
            fused score. The score and boundary with the best mean validation AUROC is chosen, \
            and its test figures (image AUROC, pixel AUROC, PRO) are printed. Each run is appended \
            to OUT as a JSON line.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup(title: "Industrial inspection") var inspection: InspectionOptions
    @OptionGroup var method: MethodOptions
    @OptionGroup var threads: ThreadOptions
    @Option(help: "Comma-separated seeds.") var seeds = "0,1,2"
    @Option(help: "Comma-separated boundaries: hard, soft.") var boundaries = "hard,soft"
    @Option(help: "The JSON-lines file to append each run's figures to.") var out: String
    @Option(help: "Also measure, on the first seed's runs, a farthest-point coreset of this many nearest-neighbour references per tap: its AUROC and its scoring speed against all references.")
    var coreset: Int?

    func validate() throws {
        guard data.dataset.isInspection else { throw ValidationError("inspection-benchmark runs --dataset mvtec, mtd or folder") }
        _ = try seedList()
        _ = try boundaryList()
        try checkWritable(out, option: "--out")
    }

    func seedList() throws -> [UInt64] { try parseSeeds(seeds) }

    func boundaryList() throws -> [MOCCAConfiguration.Boundary] {
        try splitList(boundaries).map {
            guard let boundary = MOCCAConfiguration.Boundary(rawValue: $0) else { throw ValidationError("--boundaries: '\($0)' is not hard or soft") }
            return boundary
        }
    }

    /// One run's figures on one split.
    struct Figures: Codable {
        var nearestNeighbor: Double, paper: Double, reconstruction: Double?, overall: Double
        /// The local maps' maxima, where the detector has local maps.
        var localMap: Double?
        /// Pixel AUROC and PRO of the maps of each score (keyed as ``value(_:)``).
        var pixelAUROC: [String: Double], pro: [String: Double]
        var perDefect: [String: Double]

        init(_ e: InspectionEvaluation) {
            nearestNeighbor = e.tapScore.auroc
            paper = e.paperScore.auroc
            reconstruction = e.channels.firstIndex(of: "reconstruction").map { e.perChannel[$0].auroc }
            overall = e.overall.auroc
            localMap = e.localMapScore?.auroc
            let series = ["nearest-neighbor": "taps", "paper": "paper", "reconstruction": "reconstruction"]
            let metrics = series.compactMapValues { e.pixelMetricsBySeries[$0] }.merging(e.pixelMetrics.map { [e.localMapScore != nil ? "local-map" : "overall": $0] } ?? [:]) { a, _ in a }
            (pixelAUROC, pro) = (metrics.mapValues(\.pixel.auroc), metrics.mapValues(\.pro))
            perDefect = e.perDefect.mapValues(\.auroc)
        }

        /// The reconstruction figures of another run of the same autoencoder.
        mutating func carryReconstruction(from other: Figures) {
            reconstruction = other.reconstruction
            pixelAUROC["reconstruction"] = other.pixelAUROC["reconstruction"]
            pro["reconstruction"] = other.pro["reconstruction"]
        }

        func value(_ score: String) -> Double? {
            switch score {
            case "nearest-neighbor": return nearestNeighbor
            case "paper": return paper
            case "reconstruction": return reconstruction
            case "local-map": return localMap
            default: return overall
            }
        }
    }

    /// One (seed, boundary) run.
    struct Record: Codable {
        var seed: UInt64, boundary: String, tapScore: String
        var validation: Figures, test: Figures
        var pretrainingSeconds: Double, oneClassSeconds: Double, scoringSeconds: Double
        var coreset: CoresetFigures?
    }

    /// The nearest-neighbour score with all references and with a coreset of them.
    struct CoresetFigures: Codable {
        var size: Int, references: Int
        var validation: Double, test: Double
        /// Seconds to score the validation images' patches (no maps), all references and coreset.
        var allSeconds: Double, coresetSeconds: Double
    }

    func run() throws {
        try threads.apply()
        var base = try method.configuration(defaultNetwork: data.dataset.defaultNetwork)
        base.reconstructionChannel = true
        base.fusion = base.tapScore == .nearestNeighbor ? .standardized : base.fusion
        let preprocessing = try inspection.preprocessing(for: data)
        base = try fitted(base, to: preprocessing, inspection: inspection)
        var records: [Record] = []
        for seed in try seedList() {
            var configuration = base
            configuration.seed = seed
            var (split, _) = try inspectionSplit(data, seed: seed, requireTest: true)
            split = try checkFiles(split, preprocessing: preprocessing, skipBad: inspection.skipBad)
            let samples = InspectionTrainingSamples(InspectionImageStore(split.train, preprocessing: preprocessing),
                                                    count: inspection.samples(for: data, preprocessing: preprocessing), seed: seed)
            printError("seed \(seed): \(split.name), \(split.train.count) training images, \(samples.count) samples per epoch; pretraining")
            let pretrained = try MOCCADetector(configuration: configuration)
            let start = Date()
            try pretrained.pretrain(normal: samples, progress: ProgressLine().report)
            let pretrainingSeconds = Date().timeIntervalSince(start)
            var reconstruction: (validation: Figures, test: Figures)?
            for boundary in try boundaryList() {
                configuration.boundary = boundary
                // The reconstruction error is the autoencoder's, the same for every boundary of
                // a seed: measured with the first (its autoencoder pass is most of the scoring
                // time), then carried over.
                configuration.reconstructionChannel = reconstruction == nil
                let detector = try pretrained.copy(configuration: configuration)
                let oneClassStart = Date()
                try detector.fitOneClass(normal: samples, progress: ProgressLine().report)
                try detector.fitInspectionScorers(split: split, preprocessing: preprocessing)
                let scoringStart = Date()
                let series = ["taps", "paper", "reconstruction"]
                let validation = try detector.evaluate(inspection: split.validation, preprocessing: preprocessing, mapSeries: series).0
                let test = try detector.evaluate(inspection: split.test, preprocessing: preprocessing, mapSeries: series).0
                var (validationFigures, testFigures) = (Figures(validation), Figures(test))
                if let reconstruction {
                    validationFigures.carryReconstruction(from: reconstruction.validation)
                    testFigures.carryReconstruction(from: reconstruction.test)
                } else {
                    reconstruction = (validationFigures, testFigures)
                }
                var record = Record(seed: seed, boundary: boundary.rawValue, tapScore: configuration.tapScore.rawValue,
                                    validation: validationFigures, test: testFigures, pretrainingSeconds: pretrainingSeconds,
                                    oneClassSeconds: scoringStart.timeIntervalSince(oneClassStart), scoringSeconds: Date().timeIntervalSince(scoringStart))
                // Measured on the first seed's runs: enough to see the effect, at a third of the cost.
                if let coreset, configuration.tapScore == .nearestNeighbor, seed == (try seedList()).first {
                    record.coreset = try measureCoreset(coreset, of: detector, split: split, preprocessing: preprocessing)
                }
                records.append(record)
                try append(record)
                print(String(format: "seed %llu %@: validation AUROC nn %.4f paper %.4f reconstruction %.4f local map %.4f | test nn %.4f paper %.4f reconstruction %.4f local map %.4f",
                             seed, boundary.rawValue, record.validation.nearestNeighbor, record.validation.paper, record.validation.reconstruction ?? .nan,
                             record.validation.localMap ?? .nan, record.test.nearestNeighbor, record.test.paper, record.test.reconstruction ?? .nan,
                             record.test.localMap ?? .nan))
            }
        }
        print(summary(records))
    }

    private func measureCoreset(_ size: Int, of detector: MOCCADetector, split: InspectionSplit,
                                preprocessing: InspectionPreprocessing) throws -> CoresetFigures {
        let references = preprocessing.patchSize != nil ? InspectionPatches(InspectionImageStore(split.train, preprocessing: preprocessing)) as any SampleSource
            : InspectionTrainingSamples(InspectionImageStore(split.train, preprocessing: preprocessing), seed: detector.configuration.seed)
        let limited = try detector.limitingReferences(to: size, references: references)
        try limited.calibrateImageThreshold(split: split, preprocessing: preprocessing)
        let validation = InspectionPatches(InspectionImageStore(split.validation, preprocessing: preprocessing))
        func timed(_ d: MOCCADetector) throws -> (InspectionScores, Double) {
            let start = Date()
            return (try d.score(validation), Date().timeIntervalSince(start))
        }
        let (_, allSeconds) = try timed(detector)
        let (scores, coresetSeconds) = try timed(limited)
        let evaluation = try limited.evaluate(inspection: split.validation, scores: scores)
        let testScores = try limited.score(InspectionPatches(InspectionImageStore(split.test, preprocessing: preprocessing)))
        let test = try limited.evaluate(inspection: split.test, scores: testScores)
        return CoresetFigures(size: size, references: references.count, validation: evaluation.tapScore.auroc, test: test.tapScore.auroc,
                              allSeconds: allSeconds, coresetSeconds: coresetSeconds)
    }

    private func append(_ record: Record) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let line = try encoder.encode(record) + Data("\n".utf8)
        let existing = FileManager.default.contents(atPath: out) ?? Data()
        try writeAtomically(existing + line, to: out)
    }

    /// Mean ± standard deviation over seeds of every (boundary, score), validation and
    /// test; the best on validation, and its test figures.
    func summary(_ records: [Record]) -> String {
        func stats(_ values: [Double]) -> String {
            guard !values.isEmpty else { return "    -" }
            let mean = values.reduce(0, +) / Double(values.count)
            let spread = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(max(values.count - 1, 1))).squareRoot()
            return String(format: "%.4f ± %.4f", mean, spread)
        }
        var lines = ["image AUROC, mean ± std over \(Set(records.map(\.seed)).count) seeds", "boundary  score              validation         test"]
        var best: (key: String, validation: Double)?
        for boundary in Set(records.map(\.boundary)).sorted() {
            let runs = records.filter { $0.boundary == boundary }
            for score in ["nearest-neighbor", "paper", "reconstruction", "local-map"] {
                let validation = runs.compactMap { $0.validation.value(score) }, test = runs.compactMap { $0.test.value(score) }
                if validation.isEmpty { continue }
                lines.append(boundary.padding(toLength: 10, withPad: " ", startingAt: 0) + score.padding(toLength: 19, withPad: " ", startingAt: 0)
                             + stats(validation) + "  " + stats(test))
                let mean = validation.reduce(0, +) / Double(max(validation.count, 1))
                if mean > best?.validation ?? -1 { best = ("\(boundary) \(score)", mean) }
            }
        }
        let coresets = records.compactMap(\.coreset)
        if let first = coresets.first {
            lines.append("nearest-neighbour references: all \(first.references) against a coreset of \(first.size): validation AUROC "
                         + "\(stats(records.filter { $0.coreset != nil }.map(\.validation.nearestNeighbor))) against \(stats(coresets.map(\.validation))), "
                         + "test \(stats(records.filter { $0.coreset != nil }.map(\.test.nearestNeighbor))) against \(stats(coresets.map(\.test))); "
                         + String(format: "scoring the validation images %.1f s against %.1f s (mean)",
                                  coresets.map(\.allSeconds).reduce(0, +) / Double(coresets.count), coresets.map(\.coresetSeconds).reduce(0, +) / Double(coresets.count)))
        }
        if let best {
            let parts = best.key.split(separator: " ").map(String.init)
            let runs = records.filter { $0.boundary == parts[0] }
            let pixel = runs.compactMap { $0.test.pixelAUROC[parts[1]] }, pro = runs.compactMap { $0.test.pro[parts[1]] }
            lines.append("chosen on validation: \(best.key); test image AUROC \(stats(runs.compactMap { $0.test.value(parts[1]) })), "
                         + "pixel AUROC \(stats(pixel)), PRO \(stats(pro)) (maps of that score)")
        }
        return lines.joined(separator: "\n")
    }
}
