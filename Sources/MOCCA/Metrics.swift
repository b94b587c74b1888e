import MOCCACore

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
    /// The standard error of ``auroc``, for metrics computed from one score per sample with
    /// at least two of each class (in at least two groups each, where samples are grouped);
    /// nil otherwise (pixel metrics, and metrics stored before it existed).
    ///
    /// For independent samples it is DeLong et al.'s (1988). Where samples come in groups
    /// that are not independent of one another (``aurocGroupCount``), it is Obuchowski's
    /// (1997) clustered estimator, which counts the groups as the independent units and
    /// reduces to DeLong's when every sample is its own group.
    public var aurocStandardError: Double?
    /// The number of groups ``aurocStandardError`` counted as independent units, or nil
    /// when every sample counted as one.
    public var aurocGroupCount: Int?

    /// Computes every metric.
    /// - Parameter groups: where samples are not independent (MTD's photos of one tile),
    ///   an id per sample shared by the samples of one group; the AUROC's standard error
    ///   then treats groups as the independent units.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` unless both classes are present and
    ///   the counts agree, or when a score is not finite.
    public init(scores: [Float], labels: [Int], groups: [Int]? = nil) throws {
        let (positives, negatives) = try Self.checkedCounts(scores: scores, labels: labels)
        if let groups, groups.count != labels.count {
            throw MOCCAError.invalidEvaluation("\(groups.count) group ids for \(labels.count) labels")
        }
        self = ThresholdSweep.run(scores: scores, labels: labels, positives: positives, negatives: negatives).metrics
        aurocStandardError = Self.aurocStandardError(scores: scores, labels: labels, groups: groups ?? Array(labels.indices),
                                                     positives: positives, negatives: negatives)
        aurocGroupCount = groups.map { Set($0).count }
    }

    /// The normal-approximation 95% confidence interval of ``auroc`` from
    /// ``aurocStandardError`` (as R's pROC computes by default), clipped to [0, 1].
    public var aurocInterval95: ClosedRange<Double>? {
        aurocStandardError.map { max(0, auroc - 1.959964 * $0)...min(1, auroc + 1.959964 * $0) }
    }
}

extension DetectionMetrics {
    /// Obuchowski's clustered standard error of the AUROC (DeLong's for singleton groups),
    /// from each sample's share of the other class it outranks (ties one half), computed
    /// with midranks in O(n log n).
    static func aurocStandardError(scores: [Float], labels: [Int], groups: [Int], positives m: Int, negatives n: Int) -> Double? {
        /// 1-based ranks of `values`, tied values sharing the mean of their ranks.
        func midranks(_ values: [Float]) -> [Double] {
            let order = values.indices.sorted { values[$0] < values[$1] }
            var ranks = [Double](repeating: 0, count: values.count), start = 0
            while start < order.count {
                var end = start
                while end + 1 < order.count && values[order[end + 1]] == values[order[start]] { end += 1 }
                for k in start...end { ranks[order[k]] = Double(start + end) / 2 + 1 }
                start = end + 1
            }
            return ranks
        }
        let all = midranks(scores)
        let positiveIndices = labels.indices.filter { labels[$0] == 1 }, negativeIndices = labels.indices.filter { labels[$0] != 1 }
        // Each positive's share of negatives it outranks; each negative's share of positives outranking it.
        var shares = [Double](repeating: 0, count: scores.count)
        for (rank, index) in zip(midranks(positiveIndices.map { scores[$0] }), positiveIndices) { shares[index] = (all[index] - rank) / Double(n) }
        for (rank, index) in zip(midranks(negativeIndices.map { scores[$0] }), negativeIndices) { shares[index] = 1 - (all[index] - rank) / Double(m) }
        let auc = positiveIndices.reduce(0) { $0 + shares[$1] } / Double(m)

        // Per group: the deviation of its positives' (negatives') shares from what the AUROC predicts.
        var deviations: [Int: (positive: Double, negative: Double, positives: Int, negatives: Int)] = [:]
        for index in scores.indices {
            var d = deviations[groups[index], default: (0, 0, 0, 0)]
            if labels[index] == 1 { d.positive += shares[index] - auc; d.positives += 1 } else { d.negative += shares[index] - auc; d.negatives += 1 }
            deviations[groups[index]] = d
        }
        let groupsWithPositives = Double(deviations.values.filter { $0.positives > 0 }.count)
        let groupsWithNegatives = Double(deviations.values.filter { $0.negatives > 0 }.count)
        let groupCount = Double(deviations.count)
        guard groupsWithPositives >= 2, groupsWithNegatives >= 2 else { return nil }
        let s10 = groupsWithPositives / ((groupsWithPositives - 1) * Double(m)) * deviations.values.reduce(0) { $0 + $1.positive * $1.positive }
        let s01 = groupsWithNegatives / ((groupsWithNegatives - 1) * Double(n)) * deviations.values.reduce(0) { $0 + $1.negative * $1.negative }
        let s11 = groupCount / (groupCount - 1) * deviations.values.reduce(0) { $0 + $1.positive * $1.negative }
        return max(0, s10 / Double(m) + s01 / Double(n) + 2 * s11 / (Double(m) * Double(n))).squareRoot()
    }
}

/// The `q` quantile of `values` with linear interpolation between order statistics
/// (NumPy's default `np.quantile`).
public func quantile(_ values: [Float], _ q: Double) -> Float {
    MOCCACore.quantile(ofSorted: values.sorted(), q)
}

/// The sweep of decision thresholds from the highest score down, one group of tied
/// scores at a time, that every threshold metric here is computed from.
///
/// ``DetectionMetrics`` feeds it one score per sample; pixel-level metrics feed it
/// millions of pixels grouped their own way (see ``PixelMetrics``), and a ROC figure
/// reads the curve's points as they come. Each group is one point of the ROC curve:
/// the area is the trapezoid rule over those points, so tied scores count one half.
public struct ThresholdSweep: Sendable {
    /// The number of anomalous (positive) and normal (negative) samples in all.
    public let positives: Int, negatives: Int
    /// The samples at or above the current threshold: anomalous ones, normal ones.
    public private(set) var truePositives = 0, falsePositives = 0
    fileprivate var auc = 0.0, ap = 0.0, bestBalanced = 0.0, bestF1 = 0.0

    /// A sweep over `positives` anomalous and `negatives` normal samples, both at least one.
    public init(positives: Int, negatives: Int) {
        precondition(positives > 0 && negatives > 0, "a threshold sweep needs both classes")
        self.positives = positives
        self.negatives = negatives
    }

    /// The fraction of anomalous samples at or above the current threshold (recall).
    public var truePositiveRate: Double { Double(truePositives) / Double(positives) }
    /// The fraction of normal samples at or above the current threshold.
    public var falsePositiveRate: Double { Double(falsePositives) / Double(negatives) }

    /// Lowers the threshold past one group of samples that share a score: `positives`
    /// anomalous and `negatives` normal ones.
    public mutating func lower(past positives: Int, _ negatives: Int) {
        let previousTPR = truePositiveRate, previousFPR = falsePositiveRate
        truePositives += positives
        falsePositives += negatives
        let tpr = truePositiveRate, fpr = falsePositiveRate
        auc += (fpr - previousFPR) * (tpr + previousTPR) / 2
        let precision = Double(truePositives) / Double(max(truePositives + falsePositives, 1))
        ap += (tpr - previousTPR) * precision
        bestBalanced = max(bestBalanced, (tpr + 1 - fpr) / 2)
        if truePositives > 0 { bestF1 = max(bestF1, 2 * precision * tpr / (precision + tpr)) }
    }

    /// The metrics of the thresholds passed so far; of all of them once every sample is.
    public var metrics: DetectionMetrics { DetectionMetrics(sweep: self) }

    /// Sweeps `scores` (finite, one per label; label 1 anomalous) from the highest down,
    /// calling `visit` after each group of tied scores, that is at each point of the ROC
    /// curve after (0, 0).
    static func run(scores: [Float], labels: [Int], positives: Int, negatives: Int,
                    visit: (ThresholdSweep) -> Void = { _ in }) -> ThresholdSweep {
        var sweep = ThresholdSweep(positives: positives, negatives: negatives)
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var i = 0
        while i < order.count {
            let value = scores[order[i]]
            var tp = 0, fp = 0
            while i < order.count && scores[order[i]] == value {
                if labels[order[i]] == 1 { tp += 1 } else { fp += 1 }
                i += 1
            }
            sweep.lower(past: tp, fp)
            visit(sweep)
        }
        return sweep
    }
}

extension DetectionMetrics {
    /// The metrics a sweep has gathered; balanced accuracy is at least one half, that of
    /// a constant decision.
    init(sweep: ThresholdSweep) {
        auroc = sweep.auc
        aupr = sweep.ap
        maxBalancedAccuracy = max(sweep.bestBalanced, 0.5)
        maxF1 = sweep.bestF1
    }

    /// The ROC curve of `scores` against `labels` (0 normal, 1 anomaly): `(FPR, TPR)`
    /// points from (0, 0) to (1, 1), one per distinct score, for plotting.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` as ``init(scores:labels:)``.
    public static func rocCurve(scores: [Float], labels: [Int]) throws -> [(fpr: Double, tpr: Double)] {
        let (positives, negatives) = try checkedCounts(scores: scores, labels: labels)
        var points: [(fpr: Double, tpr: Double)] = [(0, 0)]
        _ = ThresholdSweep.run(scores: scores, labels: labels, positives: positives, negatives: negatives) {
            points.append(($0.falsePositiveRate, $0.truePositiveRate))
        }
        return points
    }
}

extension DetectionMetrics {
    /// The numbers of anomalous and normal samples, after checking that scores and labels
    /// can be evaluated.
    static func checkedCounts(scores: [Float], labels: [Int]) throws -> (positives: Int, negatives: Int) {
        guard scores.count == labels.count else {
            throw MOCCAError.invalidEvaluation("\(scores.count) scores for \(labels.count) labels")
        }
        guard scores.allSatisfy(\.isFinite) else { throw MOCCAError.invalidEvaluation("a score is NaN or infinite") }
        let positives = labels.filter { $0 == 1 }.count
        let negatives = labels.count - positives
        guard positives > 0, negatives > 0 else {
            throw MOCCAError.invalidEvaluation("both normal (0) and anomalous (1) samples are needed; got \(negatives) and \(positives)")
        }
        return (positives, negatives)
    }
}
