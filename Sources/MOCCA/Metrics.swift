/// Threshold-free and best-threshold metrics of anomaly scores, where a higher score
/// means more anomalous and label 1 marks an anomaly.
public struct DetectionMetrics: Codable, Sendable, Equatable {
    /// Area under the ROC curve; ties count one half (scikit-learn's `roc_auc_score`).
    public var auroc: Double
    /// Area under the precision-recall curve as average precision (scikit-learn's
    /// `average_precision_score`): `Σ (R_k − R_{k−1}) P_k` over distinct thresholds.
    public var aupr: Double
    /// The best balanced accuracy `(TPR + TNR) / 2` over all thresholds.
    public var maxBalancedAccuracy: Double
    /// The best F1 score of the anomaly class over all thresholds.
    public var maxF1: Double

    /// Computes every metric.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` unless both classes are present and
    ///   the counts agree, or when a score is not finite.
    public init(scores: [Float], labels: [Int]) throws {
        guard scores.count == labels.count else {
            throw MOCCAError.invalidEvaluation("\(scores.count) scores for \(labels.count) labels")
        }
        guard scores.allSatisfy(\.isFinite) else { throw MOCCAError.invalidEvaluation("a score is NaN or infinite") }
        let positives = labels.filter { $0 == 1 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else {
            throw MOCCAError.invalidEvaluation("both normal (0) and anomalous (1) samples are needed; got \(negatives) and \(positives)")
        }
        // Sweep thresholds from the highest score down, one group of tied scores at a time.
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var tp = 0, fp = 0
        var auc = 0.0, ap = 0.0, bestBalanced = 0.0, bestF1 = 0.0
        var previousTPR = 0.0, previousFPR = 0.0, previousRecall = 0.0
        var i = 0
        while i < order.count {
            let value = scores[order[i]]
            while i < order.count && scores[order[i]] == value {
                if labels[order[i]] == 1 { tp += 1 } else { fp += 1 }
                i += 1
            }
            let tpr = Double(tp) / Double(positives), fpr = Double(fp) / Double(negatives)
            auc += (fpr - previousFPR) * (tpr + previousTPR) / 2
            let precision = Double(tp) / Double(tp + fp)
            ap += (tpr - previousRecall) * precision
            bestBalanced = max(bestBalanced, (tpr + 1 - fpr) / 2)
            if tp > 0 { bestF1 = max(bestF1, 2 * precision * tpr / (precision + tpr)) }
            (previousTPR, previousFPR, previousRecall) = (tpr, fpr, tpr)
        }
        auroc = auc
        aupr = ap
        maxBalancedAccuracy = max(bestBalanced, 0.5)
        maxF1 = bestF1
    }
}

/// The `q` quantile of `values` with linear interpolation between order statistics
/// (NumPy's default `np.quantile`).
public func quantile(_ values: [Float], _ q: Double) -> Float {
    precondition(!values.isEmpty, "quantile of no values")
    let sorted = values.sorted()
    let position = q * Double(sorted.count - 1)
    let lower = Int(position.rounded(.down)), upper = Int(position.rounded(.up))
    let fraction = Float(position - Double(lower))
    return sorted[lower] + (sorted[upper] - sorted[lower]) * fraction
}
