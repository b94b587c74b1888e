import Foundation
import MOCCA
import MOCCANN

/// What a running benchmark reports, in order.
public enum BenchmarkEvent: Sendable {
    /// Something the user should see that does not stop the run (a torn last line dropped).
    case warning(String)
    /// Runs already in the results file, skipped.
    case alreadyDone([BenchmarkRun])
    /// Phase 1 starts for a (class, seed): no stored autoencoder has its key.
    case pretraining(normalClass: String, seed: UInt64, key: PretrainingKey)
    /// A stored autoencoder with the same key is loaded instead of pretraining.
    case reusingPretrained(normalClass: String, seed: UInt64, weights: URL)
    /// A run finished and its record is stored.
    case finished(BenchmarkRecord)
}

/// The paper's one-class protocol: for every (class, seed) of a ``BenchmarkPlan``, an
/// autoencoder is pretrained (or a stored one with the same ``PretrainingKey`` reused),
/// then for every boundary the one-class phase runs on a copy of it and the detector is
/// evaluated on the whole test set; each finished run is appended to the results file at
/// once, so that a killed benchmark loses at most the runs in progress.
///
/// A re-run skips every run whose record matches it (same data set, class, and every
/// option with its seed and boundary) and pretrains only for the (class, seed)s with a run
/// left and no stored autoencoder.
public struct BenchmarkRunner {
    /// The images.
    public var data: BenchmarkData
    /// The classes, seeds and boundaries.
    public var plan: BenchmarkPlan
    /// Every option; each run replaces its seed and boundary by the run's.
    public var configuration: MOCCAConfiguration
    /// Where the results, autoencoders and table go.
    public var folder: BenchmarkFolder
    /// The version and commit written into every new record.
    public var provenance: BenchmarkProvenance
    /// Whether the preprocessing normalises each image's contrast (the paper's does).
    public var globalContrastNormalization = true
    /// Called after every training batch of either phase.
    public var trainingProgress: ((TrainingProgress) -> Void)?

    /// A runner; nothing is read or trained until ``run(events:)``.
    public init(data: BenchmarkData, plan: BenchmarkPlan, configuration: MOCCAConfiguration, folder: BenchmarkFolder,
                provenance: BenchmarkProvenance = .current()) {
        self.data = data
        self.plan = plan
        self.configuration = configuration
        self.folder = folder
        self.provenance = provenance
    }

    /// Runs what the results file does not hold yet, then writes and returns the table of
    /// every run of the plan made with these options.
    /// - Parameter events: told what happens; an error it throws stops the benchmark where
    ///   it is, as a kill would, with every finished run stored.
    /// - Throws: ``BenchmarkError``, `DataError` or ``MOCCA/MOCCAError`` from the data, the
    ///   training or the files, or what `events` throws.
    @discardableResult
    public func run(events: (BenchmarkEvent) throws -> Void = { _ in }) throws -> BenchmarkTable {
        try folder.create()
        let store = folder.results
        let contents = try store.load()
        for warning in contents.warnings { try events(.warning(warning)) }
        var records = contents.records
        let done = plan.runs.filter { run in records.contains { $0.isRecord(of: run, dataset: data.dataset, configuration: configuration) } }
        if !done.isEmpty { try events(.alreadyDone(done)) }

        for group in plan.groups {
            let pending = group.runs.filter { !done.contains($0) }
            guard !pending.isEmpty else { continue }
            records += try run(pending, of: group, events: events)
        }
        let table = BenchmarkTable(selecting: records, plan: plan, dataset: data.dataset, configuration: configuration)
        try folder.write(table)
        return table
    }

    /// Pretrains (or reuses) the group's autoencoder, then runs and stores each pending run.
    private func run(_ pending: [BenchmarkRun], of group: BenchmarkPlan.Group,
                     events: (BenchmarkEvent) throws -> Void) throws -> [BenchmarkRecord] {
        let split = try data.split(normalClass: group.normalClass)
        let prepared = try split.prepared(globalContrastNormalization: globalContrastNormalization)
        var base = configuration
        base.seed = group.seed
        base.boundary = pending[0].boundary
        let pretrained = try MOCCADetector(configuration: base)
        pretrained.preprocessor = prepared.preprocessor
        let key = try PretrainingKey(configuration: base, dataset: data.dataset, split: split,
                                     globalContrastNormalization: globalContrastNormalization)
        let weights = folder.pretrainedWeights(normalClass: group.normalClass, seed: group.seed, key: key)
        let normal = try TensorSource(prepared.train)
        let start = Date()
        if FileManager.default.fileExists(atPath: weights.path) {
            try events(.reusingPretrained(normalClass: group.normalClass, seed: group.seed, weights: weights))
            try pretrained.network.load(from: weights)
        } else {
            try events(.pretraining(normalClass: group.normalClass, seed: group.seed, key: key))
            try pretrained.pretrain(normal: normal, progress: trainingProgress)
            try pretrained.network.save(to: weights)
        }
        let pretrainSeconds = Date().timeIntervalSince(start)

        var records: [BenchmarkRecord] = []
        for run in pending {
            var options = base
            options.boundary = run.boundary
            let detector = try pretrained.copy(configuration: options)
            let phaseStart = Date()
            try detector.fitOneClass(normal: normal, progress: trainingProgress)
            let scores = try detector.score(prepared.test)
            let report = try detector.evaluate(scores, labels: prepared.testLabels)
            let record = BenchmarkRecord(
                dataset: data.dataset, normalClass: run.normalClass, seed: run.seed, boundary: run.boundary.rawValue,
                auroc: report.overall.auroc,
                perChannelAUROC: Dictionary(zip(report.channels, report.perChannel.map(\.auroc)), uniquingKeysWith: { $1 }),
                meanFusionAUROC: report.meanFusion.auroc, standardizedFusionAUROC: report.standardizedFusion.auroc,
                subsetAUROC: try detector.channelSubsetAUROCs(scores, labels: prepared.testLabels),
                pretrainSeconds: pretrainSeconds, oneClassSeconds: Date().timeIntervalSince(phaseStart),
                configuration: options, provenance: provenance)
            try folder.results.append(record)
            records.append(record)
            try events(.finished(record))
        }
        return records
    }
}
