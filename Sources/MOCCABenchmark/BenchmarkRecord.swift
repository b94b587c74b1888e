import MOCCA

/// One finished run, as a line of `results.jsonl`.
///
/// Records written before ``toolVersion`` and ``gitCommit`` existed, or before
/// ``subsetAUROC``, still decode: those fields are then `nil`. Their configurations decode
/// as ``MOCCAConfiguration`` reads old manifests.
public struct BenchmarkRecord: Codable, Sendable, Equatable {
    /// The data set's path-independent name (for example `cifar10`).
    public var dataset: String
    /// The class trained on as normal.
    public var normalClass: String
    /// The run's seed.
    public var seed: UInt64
    /// The run's boundary (`hard` or `soft`).
    public var boundary: String
    /// AUROC of the detector's own fused score.
    public var auroc: Double
    /// AUROC of each channel (tap, or `reconstruction`) alone.
    public var perChannelAUROC: [String: Double]
    /// AUROC of the plain mean over taps: the paper's score.
    public var meanFusionAUROC: Double
    /// AUROC of the mean of the standardised channels.
    public var standardizedFusionAUROC: Double
    /// `subsetAUROC[fusion][channels]`: AUROC of each channel subset (absent in results
    /// stored before subsets were recorded).
    public var subsetAUROC: [String: [String: Double]]?
    /// Seconds spent pretraining the autoencoder, or loading it when it was reused.
    public var pretrainSeconds: Double
    /// Seconds of the one-class phase, scoring and evaluation.
    public var oneClassSeconds: Double
    /// Every option of the run, its seed and boundary included.
    public var configuration: MOCCAConfiguration
    /// The swift-mocca version that made the record (`nil` in older records).
    public var toolVersion: String?
    /// The git commit of the source it was built from, `unknown` when that could not be
    /// told (`nil` in older records); see ``BenchmarkProvenance``.
    public var gitCommit: String?

    /// A record from its parts.
    public init(dataset: String, normalClass: String, seed: UInt64, boundary: String, auroc: Double,
                perChannelAUROC: [String: Double], meanFusionAUROC: Double, standardizedFusionAUROC: Double,
                subsetAUROC: [String: [String: Double]]?, pretrainSeconds: Double, oneClassSeconds: Double,
                configuration: MOCCAConfiguration, provenance: BenchmarkProvenance?) {
        self.dataset = dataset
        self.normalClass = normalClass
        self.seed = seed
        self.boundary = boundary
        self.auroc = auroc
        self.perChannelAUROC = perChannelAUROC
        self.meanFusionAUROC = meanFusionAUROC
        self.standardizedFusionAUROC = standardizedFusionAUROC
        self.subsetAUROC = subsetAUROC
        self.pretrainSeconds = pretrainSeconds
        self.oneClassSeconds = oneClassSeconds
        self.configuration = configuration
        toolVersion = provenance?.toolVersion
        gitCommit = provenance?.gitCommit
    }

    /// Whether this record is `run` on `dataset` made with `configuration` (whose seed and
    /// boundary are replaced by the run's): only such a record lets a re-run skip the run.
    public func isRecord(of run: BenchmarkRun, dataset: String, configuration: MOCCAConfiguration) -> Bool {
        var expected = configuration
        expected.seed = run.seed
        expected.boundary = run.boundary
        return self.dataset == dataset && normalClass == run.normalClass && self.configuration == expected
    }

    /// Whether this record belongs in the table of `plan` on `dataset` with `configuration`:
    /// one of its classes and seeds, made with these options whatever its seed and boundary.
    public func belongs(to plan: BenchmarkPlan, dataset: String, configuration: MOCCAConfiguration) -> Bool {
        var options = self.configuration
        options.seed = configuration.seed
        options.boundary = configuration.boundary
        return self.dataset == dataset && plan.classes.contains(normalClass) && plan.seeds.contains(seed) && options == configuration
    }
}
