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
        let rate: Double, name: String
        switch self {
        case .value(let value):
            guard value.isFinite else { throw MOCCAError.invalidConfiguration("a fixed threshold must be a finite number, got \(value)") }
            return value
        case .trainingQuantile(let nu): (rate, name) = (nu, "nu")
        case .contamination(let r): (rate, name) = (r, "the contamination rate")
        case .falsePositiveRate(let r): (rate, name) = (r, "the target false positive rate")
        }
        guard rate > 0, rate < 1 else { throw MOCCAError.invalidConfiguration("\(name) must be in (0, 1), got \(rate)") }
        guard !referenceScores.isEmpty else { throw MOCCAError.invalidConfiguration("no scores to set the threshold from") }
        guard referenceScores.allSatisfy(\.isFinite) else { throw MOCCAError.invalidConfiguration("the scores to set the threshold from hold NaN or infinite values") }
        return quantile(referenceScores, 1 - rate)
    }
}
