import MOCCACore

/// Where a detector's training data came from.
public struct TrainingDataDescription: Codable, Sendable, Equatable {
    public var dataset: String
    public var path: String
    public var normalClass: String
    public var classNames: [String]
    /// `[C, H, W]` of the images.
    public var imageShape: [Int]

    public init(dataset: String, path: String, normalClass: String, classNames: [String], imageShape: [Int]) {
        self.dataset = dataset
        self.path = path
        self.normalClass = normalClass
        self.classNames = classNames
        self.imageShape = imageShape
    }
}

/// A detector's metrics on labelled data: fused, per channel, and under both fusion rules.
public struct EvaluationReport: Codable, Sendable {
    /// The detector's own fused score.
    public var overall: DetectionMetrics
    /// The channels, in order, with their metrics.
    public var channels: [String]
    public var perChannel: [DetectionMetrics]
    /// The paper's fusion (plain mean over taps), and the standardised mean.
    public var meanFusion: DetectionMetrics
    public var standardizedFusion: DetectionMetrics
    /// The detector's threshold, and the accuracy of its decisions at it.
    public var threshold: Float
    public var accuracyAtThreshold: Double
    public var normalCount: Int
    public var anomalyCount: Int
}

extension MOCCADetector {
    /// Scores preprocessed images and evaluates against labels (0 normal, 1 anomaly).
    public func evaluate(_ images: Tensor, labels: [Int]) throws -> EvaluationReport {
        let scores = try score(images)
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
