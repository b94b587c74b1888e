/// How a detector's decision threshold is chosen; a score above it is an anomaly.
public enum ThresholdRule: Codable, Sendable, Equatable, CustomStringConvertible {
    /// The `(1 − ν)` quantile of the training scores (the default).
    case trainingQuantile(nu: Double)
    /// The `(1 − rate)` quantile of the training scores, for a known contamination rate.
    case contamination(rate: Double)
    /// The `(1 − rate)` quantile of scores of held-out normal samples: about `rate` of
    /// normal samples will be flagged.
    case falsePositiveRate(rate: Double)
    /// A fixed value.
    case value(Float)

    /// A readable description of the rule.
    public var description: String {
        switch self {
        case .trainingQuantile(let nu): return "the \(1 - nu) quantile of the training scores (1 - nu)"
        case .contamination(let rate): return "the \(1 - rate) quantile of the training scores (contamination \(rate))"
        case .falsePositiveRate(let rate): return "the \(1 - rate) quantile of held-out normal scores (target FPR \(rate))"
        case .value(let value): return "the fixed value \(value)"
        }
    }

    /// The threshold for this rule given the relevant reference scores.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` for a rate outside (0, 1) or no scores.
    public func threshold(referenceScores: [Float]) throws -> Float {
        let rate: Double
        switch self {
        case .value(let value): return value
        case .trainingQuantile(let nu): rate = nu
        case .contamination(let r), .falsePositiveRate(let r): rate = r
        }
        guard rate > 0, rate < 1 else { throw MOCCAError.invalidConfiguration("the rate for \(self) must be in (0, 1), got \(rate)") }
        guard !referenceScores.isEmpty else { throw MOCCAError.invalidConfiguration("no scores to set the threshold from") }
        return quantile(referenceScores, 1 - rate)
    }
}
