import MOCCACore
import MOCCAData

/// A detector's metrics on labelled data: fused, per channel, and under both fusion rules.
public struct EvaluationReport: Codable, Sendable {
    /// The detector's own fused score.
    public var overall: DetectionMetrics
    /// The channels, in order, with their metrics.
    public var channels: [String]
    /// The metrics of each channel, in the order of ``channels``.
    public var perChannel: [DetectionMetrics]
    /// The paper's fusion (plain mean over taps), and the standardised mean.
    public var meanFusion: DetectionMetrics
    /// The metrics of the standardised mean of the channels.
    public var standardizedFusion: DetectionMetrics
    /// The detector's threshold, and the accuracy of its decisions at it.
    public var threshold: Float
    /// The fraction of samples classified correctly at ``threshold``.
    public var accuracyAtThreshold: Double
    /// The number of normal samples (label 0).
    public var normalCount: Int
    /// The number of anomalous samples (label 1).
    public var anomalyCount: Int
}

extension MOCCADetector {
    /// Scores samples and evaluates against labels (0 normal, 1 anomaly): `labels`, or
    /// the source's own.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` without labels, or with a label per
    ///   sample missing.
    public func evaluate(_ samples: any SampleSource, labels: [Int]? = nil) throws -> EvaluationReport {
        guard let labels = labels ?? samples.labels else { throw MOCCAError.invalidEvaluation("the samples have no labels") }
        guard labels.count == samples.count else {
            throw MOCCAError.invalidEvaluation("\(labels.count) labels for \(samples.count) samples")
        }
        return try evaluate(score(samples), labels: labels)
    }

    /// Scores preprocessed images and evaluates against labels (0 normal, 1 anomaly).
    public func evaluate(_ images: Tensor, labels: [Int]) throws -> EvaluationReport {
        try evaluate(try score(images), labels: labels)
    }

    /// Scores raw images with the detector's preprocessing (see ``score(_:)-(ImageDataset)``)
    /// and evaluates against labels (0 normal, 1 anomaly).
    public func evaluate(_ images: ImageDataset, labels: [Int]) throws -> EvaluationReport {
        try evaluate(try score(images), labels: labels)
    }

    /// Evaluates scores already computed against labels (0 normal, 1 anomaly).
    public func evaluate(_ scores: Scores, labels: [Int]) throws -> EvaluationReport {
        let correct = zip(scores.overall, labels).filter { ($0 > threshold) == ($1 == 1) }.count
        return EvaluationReport(
            overall: try DetectionMetrics(scores: scores.overall, labels: labels),
            channels: scores.channels,
            perChannel: try scores.perChannel.map { try DetectionMetrics(scores: $0, labels: labels) },
            meanFusion: try DetectionMetrics(scores: fuse(scores.perChannel, fusion: .mean), labels: labels),
            standardizedFusion: try DetectionMetrics(scores: fuse(scores.perChannel, fusion: .standardized), labels: labels),
            threshold: threshold,
            accuracyAtThreshold: Double(correct) / Double(max(labels.count, 1)),
            normalCount: labels.filter { $0 == 0 }.count,
            anomalyCount: labels.filter { $0 == 1 }.count)
    }
}

extension MOCCADetector {
    /// The AUROC of every non-empty subset of the score channels, under both fusion rules:
    /// `result[fusion][subset]`, with a subset named by its channels joined by `+`. The
    /// plain mean is defined for subsets of taps only, because the reconstruction error is
    /// on another scale. One trained detector answers which tap combinations help.
    public func channelSubsetAUROCs(_ scores: Scores, labels: [Int]) throws -> [String: [String: Double]] {
        let tapCount = configuration.taps.count
        let channelCount = scores.channels.count
        guard channelCount <= 12 else { throw MOCCAError.invalidConfiguration("too many channels (\(channelCount)) to enumerate their subsets") }
        var result: [String: [String: Double]] = [:]
        for mask in 1..<(1 << channelCount) {
            let members = (0..<channelCount).filter { mask & (1 << $0) != 0 }
            let name = members.map { scores.channels[$0] }.joined(separator: "+")
            if members.allSatisfy({ $0 < tapCount }) {
                result[MOCCAConfiguration.Fusion.mean.rawValue, default: [:]][name] =
                    try DetectionMetrics(scores: fuse(scores.perChannel, fusion: .mean, channels: members), labels: labels).auroc
            }
            result[MOCCAConfiguration.Fusion.standardized.rawValue, default: [:]][name] =
                try DetectionMetrics(scores: fuse(scores.perChannel, fusion: .standardized, channels: members), labels: labels).auroc
        }
        return result
    }
}
