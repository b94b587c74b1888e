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
    /// The standard error of ``auroc``, where at least two groups (or samples, where every
    /// sample counts alone) hold each class; nil otherwise, and in metrics stored before it
    /// existed. Pixel metrics (``PixelMetrics``) count images, or their groups, as the units.
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
        // Each sample's share of the other class it outranks (ties one half), gathered as the
        // sweep passes each group of tied scores (a positive's share of the negatives below
        // it, a negative's share of the positives above it) and summed per group of samples.
        let groupIndex = groups.map(Self.denseIndices) ?? Array(labels.indices)
        var sums = AUROCShareSums(groupCount: (groupIndex.max() ?? -1) + 1)
        self = ThresholdSweep.run(scores: scores, labels: labels, positives: positives, negatives: negatives) { sweep, tied in
            let tiedPositives = tied.filter { labels[$0] == 1 }.count
            let share = sweep.sharesOfTied(positives: tiedPositives, negatives: tied.count - tiedPositives)
            for index in tied {
                let positive = labels[index] == 1
                sums.add(positive ? share.positive : share.negative, positive: positive, group: groupIndex[index])
            }
        }.metrics
        aurocStandardError = sums.standardError(auroc: auroc)
        aurocGroupCount = groups.map { _ in sums.groupCount }
    }

    /// `ids` renumbered 0, 1, … in order of first appearance.
    static func denseIndices(_ ids: [Int]) -> [Int] {
        var dense: [Int: Int] = [:]
        return ids.map { id in
            if let known = dense[id] { return known }
            dense[id] = dense.count
            return dense.count - 1
        }
    }

    /// The normal-approximation 95% confidence interval of ``auroc`` from
    /// ``aurocStandardError`` (as R's pROC computes by default), clipped to [0, 1].
    public var aurocInterval95: ClosedRange<Double>? {
        aurocStandardError.map { max(0, auroc - 1.959964 * $0)...min(1, auroc + 1.959964 * $0) }
    }
}

/// Per group of samples, the sums and counts of its positives' and negatives' shares of the
/// other class they outrank: what Obuchowski's (1997) clustered standard error of an AUROC
/// is computed from (DeLong's, when every sample is its own group).
struct AUROCShareSums {
    private(set) var positiveShares: [Double], negativeShares: [Double]
    private(set) var positiveCounts: [Int], negativeCounts: [Int]
    var groupCount: Int { positiveShares.count }

    init(groupCount: Int) {
        positiveShares = [Double](repeating: 0, count: groupCount)
        negativeShares = positiveShares
        positiveCounts = [Int](repeating: 0, count: groupCount)
        negativeCounts = positiveCounts
    }

    /// Adds a sample of one class in `group` with its `share`.
    mutating func add(_ share: Double, positive: Bool, group: Int) {
        if positive { positiveShares[group] += share; positiveCounts[group] += 1 }
        else { negativeShares[group] += share; negativeCounts[group] += 1 }
    }

    /// The standard error of `auroc` (the mean positive share), or nil unless at least two
    /// groups hold positives and two hold negatives.
    func standardError(auroc: Double) -> Double? {
        let withPositives = Double(positiveCounts.filter { $0 > 0 }.count), withNegatives = Double(negativeCounts.filter { $0 > 0 }.count)
        guard withPositives >= 2, withNegatives >= 2 else { return nil }
        let (m, n) = (Double(positiveCounts.reduce(0, +)), Double(negativeCounts.reduce(0, +)))
        // How far each group's shares sum from what the AUROC predicts.
        let positive = positiveShares.indices.map { positiveShares[$0] - auroc * Double(positiveCounts[$0]) }
        let negative = negativeShares.indices.map { negativeShares[$0] - auroc * Double(negativeCounts[$0]) }
        func sum(_ term: (Int) -> Double) -> Double { (0..<groupCount).reduce(0) { $0 + term($1) } }
        let s10 = withPositives / ((withPositives - 1) * m) * sum { positive[$0] * positive[$0] }
        let s01 = withNegatives / ((withNegatives - 1) * n) * sum { negative[$0] * negative[$0] }
        let s11 = Double(groupCount) / Double(groupCount - 1) * sum { positive[$0] * negative[$0] }
        return max(0, s10 / m + s01 / n + 2 * s11 / (m * n)).squareRoot()
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

    /// Each sample's share of the other class it outranks (ties count one half), for the
    /// group of tied samples the sweep was just lowered past (`positives` anomalous,
    /// `negatives` normal): a positive's share of the negatives below it, a negative's share
    /// of the positives above it. Their means over each class are the AUROC; DeLong's and
    /// Obuchowski's standard errors are computed from them (``AUROCShareSums``).
    func sharesOfTied(positives: Int, negatives: Int) -> (positive: Double, negative: Double) {
        ((Double(self.negatives - falsePositives) + Double(negatives) / 2) / Double(self.negatives),
         (Double(truePositives) - Double(positives) / 2) / Double(self.positives))
    }

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
    /// curve after (0, 0), with the indices of the samples in that group.
    static func run(scores: [Float], labels: [Int], positives: Int, negatives: Int,
                    visit: (_ sweep: ThresholdSweep, _ tied: ArraySlice<Int>) -> Void = { _, _ in }) -> ThresholdSweep {
        var sweep = ThresholdSweep(positives: positives, negatives: negatives)
        let order = scores.indices.sorted { scores[$0] > scores[$1] }
        var i = 0
        while i < order.count {
            let start = i, value = scores[order[i]]
            var tp = 0, fp = 0
            while i < order.count && scores[order[i]] == value {
                if labels[order[i]] == 1 { tp += 1 } else { fp += 1 }
                i += 1
            }
            sweep.lower(past: tp, fp)
            visit(sweep, order[start..<i])
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
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` as ``init(scores:labels:groups:)``.
    public static func rocCurve(scores: [Float], labels: [Int]) throws -> [(fpr: Double, tpr: Double)] {
        let (positives, negatives) = try checkedCounts(scores: scores, labels: labels)
        var points: [(fpr: Double, tpr: Double)] = [(0, 0)]
        _ = ThresholdSweep.run(scores: scores, labels: labels, positives: positives, negatives: negatives) { sweep, _ in
            points.append((sweep.falsePositiveRate, sweep.truePositiveRate))
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
