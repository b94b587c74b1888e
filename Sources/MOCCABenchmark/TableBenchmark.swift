import Foundation
import MOCCA
import MOCCACore
import MOCCAData

/// One method's result on one (data set, seed) of the table benchmark. The PyOD script
/// (`scripts/bench/pyod_adbench.py`) writes records of the same shape, so that one table
/// holds both.
public struct TableBenchmarkRecord: Codable, Sendable, Equatable {
    /// The data set, by its file name without extension (`6_cardio`).
    public var dataset: String
    /// The seed of the split and of the method.
    public var seed: UInt64
    /// The method (`mocca-nn-hard`, ..., or PyOD's `DeepSVDD`, `IForest`, ...).
    public var method: String
    /// Test AUROC.
    public var auroc: Double
    /// Test average precision (AUPR).
    public var aupr: Double
    /// Wall seconds to fit and score. Scores read from one trained detector share its
    /// training time: each is charged the phases it needed.
    public var seconds: Double
    /// Rows trained on and scored.
    public var trainRows: Int, testRows: Int
    /// The tool version and commit that produced the record.
    public var producer: String

    /// A record from its fields.
    public init(dataset: String, seed: UInt64, method: String, auroc: Double, aupr: Double, seconds: Double,
                trainRows: Int, testRows: Int, producer: String) {
        (self.dataset, self.seed, self.method, self.auroc, self.aupr) = (dataset, seed, method, auroc, aupr)
        (self.seconds, self.trainRows, self.testRows, self.producer) = (seconds, trainRows, testRows, producer)
    }
}

/// The ADBench-style benchmark on tables: for every data set and seed, a seeded one-class
/// split (``TableSplit``), written out for the PyOD script, and MOCCA's scores on it.
///
/// From one pretrained autoencoder per (set, seed), the one-class phase runs once per
/// boundary; each trained detector yields the nearest-neighbour score and the paper's
/// centroid score from the same pass. The autoencoder alone yields two more: the
/// nearest-neighbour score of its encoder (no one-class phase) and its reconstruction
/// error. Resumable: finished (set, seed) pairs are skipped.
public struct TableBenchmark {
    /// The methods recorded for every (set, seed), in table order.
    public static let methods = ["mocca-nn-hard", "mocca-nn-soft", "mocca-centroid-hard", "mocca-centroid-soft",
                                 "autoencoder-nn", "reconstruction"]
    /// The MOCCA variant the benchmark's claim is about, fixed before any run: the
    /// detector's defaults (nearest-neighbour tap score, hard boundary).
    public static let chosenMethod = "mocca-nn-hard"

    /// The `.npz` files, one per data set.
    public var datasets: [URL]
    /// The seeds.
    public var seeds: [UInt64]
    /// The method's options; the network's input width is set per data set.
    public var configuration: MOCCAConfiguration
    /// The feature scaling fitted on each split's training rows.
    public var scaling: FeatureScaling.Method
    /// The results folder: `mocca.jsonl`, `splits/`, and the PyOD script's `pyod.jsonl`.
    public var folder: URL
    /// Called with each training phase's progress.
    public var trainingProgress: ((TrainingProgress) -> Void)?

    /// A benchmark; nothing is read until ``run(splitsOnly:events:)``.
    public init(datasets: [URL], seeds: [UInt64], configuration: MOCCAConfiguration, scaling: FeatureScaling.Method, folder: URL) {
        (self.datasets, self.seeds, self.configuration, self.scaling, self.folder) = (datasets, seeds, configuration, scaling, folder)
    }

    /// MOCCA's records.
    public var store: JSONLinesStore<TableBenchmarkRecord> { JSONLinesStore(url: folder.appendingPathComponent("mocca.jsonl")) }
    /// The PyOD script's records.
    public var pyodStore: JSONLinesStore<TableBenchmarkRecord> { JSONLinesStore(url: folder.appendingPathComponent("pyod.jsonl")) }

    /// The split file of a data set and seed, which the PyOD script reads.
    public func splitURL(dataset: String, seed: UInt64) -> URL {
        folder.appendingPathComponent("splits").appendingPathComponent("\(dataset)-seed\(seed).json")
    }

    /// Writes every split, then (unless `splitsOnly`) runs MOCCA on each (set, seed) not yet
    /// in ``store``, calling `events` with each finished record and with warnings. A set
    /// whose seeds are all in ``store``, with their split files, is not read again.
    public func run(splitsOnly: Bool = false, events: (String) -> Void) throws {
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("splits"), withIntermediateDirectories: true)
        let loaded = try store.load()
        loaded.warnings.forEach(events)
        let done = Set(loaded.records.map { "\($0.dataset) \($0.seed) \($0.method)" })
        let producer = BenchmarkProvenance.current()
        for url in datasets {
            let name = url.deletingPathExtension().lastPathComponent
            // A set whose seeds are all finished and written needs no reading on a resume.
            let finished = seeds.allSatisfy { seed in
                Self.methods.allSatisfy { done.contains("\(name) \(seed) \($0)") }
                    && FileManager.default.fileExists(atPath: splitURL(dataset: name, seed: seed).path)
            }
            if finished && !splitsOnly { continue }
            let file = try TableFile.read(url.path, options: TableReadOptions())
            guard let labels = file.table.labels else {
                throw DataError.missing(path: url.path, expected: "a label array 'y' (1 = anomaly)")
            }
            for seed in seeds {
                let split = try TableSplit.oneClass(labels: labels, seed: seed, path: url.path)
                let splitURL = splitURL(dataset: name, seed: seed)
                try BenchmarkJSON.write(try BenchmarkJSON.encoder().encode(split), to: splitURL)
                if splitsOnly || Self.methods.allSatisfy({ done.contains("\(name) \(seed) \($0)") }) { continue }
                events("\(name) seed \(seed): \(split.train.count) training rows, \(split.test.count) test rows, \(file.table.columnCount) features")
                for record in try runMOCCA(file.table, split: split, dataset: name, seed: seed,
                                           producer: "mocca \(producer.toolVersion) \(producer.gitCommit)") {
                    try store.append(record)
                    events(String(format: "%@ seed %llu %@: AUROC %.4f AUPR %.4f (%.1f s)", name, seed, record.method, record.auroc, record.aupr, record.seconds))
                }
            }
        }
    }

    /// Every method's record on one split.
    func runMOCCA(_ table: NumericTable, split: TableSplit, dataset: String, seed: UInt64, producer: String) throws -> [TableBenchmarkRecord] {
        let train = try table.rows(split.train), test = try table.rows(split.test)
        let scaling = try FeatureScaling.fit(train, method: scaling)
        let trainSource = try TensorSource(scaling.apply(to: train, path: dataset))
        let testSource = try TensorSource(scaling.apply(to: test, path: dataset))
        let labels = (test.labels ?? []).map { $0 == 0 ? 0 : 1 }

        var base = configuration
        base.seed = seed
        // The method names promise these; the rest (epochs, rates, widths) is the caller's.
        (base.tapScore, base.fusion) = (.nearestNeighbor, .standardized)
        base.network.configuration = base.network.configuration.setting("inputFeatures", to: .number(Double(table.columnCount)))
        base.reconstructionChannel = false
        var records: [TableBenchmarkRecord] = []
        func record(_ method: String, _ scores: [Float], _ seconds: Double) throws {
            let metrics = try DetectionMetrics(scores: scores, labels: labels)
            records.append(TableBenchmarkRecord(dataset: dataset, seed: seed, method: method, auroc: metrics.auroc, aupr: metrics.aupr,
                                                seconds: seconds, trainRows: split.train.count, testRows: split.test.count, producer: producer))
        }
        func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
            let start = Date()
            let value = try body()
            return (value, Date().timeIntervalSince(start))
        }

        var pretrainConfiguration = base
        pretrainConfiguration.reconstructionChannel = true
        let pretrained = try MOCCADetector(configuration: pretrainConfiguration)
        let (_, pretraining) = try timed { try pretrained.pretrain(normal: trainSource, progress: trainingProgress) }

        // The encoder as the autoencoder left it: the one-class phase with no epochs only
        // fits the centroids and the scorers.
        var untrained = pretrainConfiguration
        untrained.oneClassEpochs = 0
        let autoencoder = try pretrained.copy(configuration: untrained)
        let (series, scoring) = try timed { () throws -> ScoreSeries in
            try autoencoder.fitOneClass(normal: trainSource)
            return try autoencoder.scoreSeries(testSource)
        }
        try record("autoencoder-nn", series.taps, pretraining + scoring)
        if let reconstruction = series.reconstruction { try record("reconstruction", reconstruction, pretraining + scoring) }

        for boundary in [MOCCAConfiguration.Boundary.hard, .soft] {
            var oneClass = base
            oneClass.boundary = boundary
            let detector = try pretrained.copy(configuration: oneClass)
            let (series, seconds) = try timed { () throws -> ScoreSeries in
                try detector.fitOneClass(normal: trainSource, progress: trainingProgress)
                return try detector.scoreSeries(testSource)
            }
            try record("mocca-nn-\(boundary.rawValue)", series.taps, pretraining + seconds)
            try record("mocca-centroid-\(boundary.rawValue)", series.paper, pretraining + seconds)
        }
        return records
    }
}
