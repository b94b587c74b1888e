import MOCCA
import Testing

@Suite("Detection metrics")
struct MetricsTests {
    // MARK: quantile (NumPy's linear interpolation)

    @Test func quantileMatchesNumpysLinearInterpolation() {
        // np.quantile([3, 1, 2, 4], 0.5) == 2.5
        #expect(quantile([3, 1, 2, 4], 0.5) == 2.5)
        // np.quantile([10, 20], 0.25) == 12.5
        #expect(quantile([10, 20], 0.25) == 12.5)
        // np.quantile(range(1, 11), 0.33) == 3.97 (position 2.97)
        #expect(abs(quantile((1...10).map(Float.init), 0.33) - 3.97) < 1e-5)
        // np.quantile([5, 1, 4, 2, 3], 0.9) == 4.6
        #expect(abs(quantile([5, 1, 4, 2, 3], 0.9) - 4.6) < 1e-5)
        // Exact order statistics need no interpolation.
        #expect(quantile([5, 1, 4, 2, 3], 0.75) == 4)
    }

    @Test func quantileEndpointsAreTheMinimumAndMaximum() {
        let values: [Float] = [7, -2, 3.5, 11, 0]
        #expect(quantile(values, 0) == -2)
        #expect(quantile(values, 1) == 11)
        #expect(quantile([42], 0.3) == 42)
    }

    // MARK: AUROC

    /// scikit-learn's documentation example: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75.
    @Test func aurocMatchesScikitLearnsExample() throws {
        let metrics = try DetectionMetrics(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1])
        #expect(isNear(metrics.auroc, 0.75))
    }

    /// Mann–Whitney with average ranks: scores [1, 1, 2, 2, 3] rank [1.5, 1.5, 3.5, 3.5, 5];
    /// the positives (labels 1) hold ranks 1.5 + 3.5 + 5 = 10; U = 10 − 3·4/2 = 4;
    /// AUROC = U / (3·2) = 2/3.
    @Test func aurocCountsTiesAsOneHalfLikeMannWhitney() throws {
        let scores: [Float] = [1, 1, 2, 2, 3], labels = [0, 1, 0, 1, 1]
        let metrics = try DetectionMetrics(scores: scores, labels: labels)
        #expect(isNear(metrics.auroc, 2.0 / 3.0))

        // The same by the average-rank formula, computed here.
        let sorted = scores.sorted()
        func averageRank(_ s: Float) -> Double {
            let first = sorted.firstIndex(of: s)!, last = sorted.lastIndex(of: s)!
            return Double(first + last + 2) / 2
        }
        let positives = labels.filter { $0 == 1 }.count, negatives = labels.count - positives
        let rankSum = zip(scores, labels).filter { $0.1 == 1 }.map { averageRank($0.0) }.reduce(0, +)
        let u = rankSum - Double(positives * (positives + 1)) / 2
        #expect(isNear(metrics.auroc, u / Double(positives * negatives)))
    }

    @Test func aurocIsOneForAPerfectRankingAndZeroForAnInvertedOne() throws {
        let perfect = try DetectionMetrics(scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1])
        #expect(perfect.auroc == 1)
        let inverted = try DetectionMetrics(scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1])
        #expect(inverted.auroc == 0)
    }

    @Test func aurocIsOneHalfWhenAllScoresAreEqual() throws {
        let metrics = try DetectionMetrics(scores: [3, 3, 3, 3, 3], labels: [0, 1, 1, 0, 1])
        #expect(isNear(metrics.auroc, 0.5))
    }

    @Test func aurocDoesNotDependOnSampleOrder() throws {
        let a = try DetectionMetrics(scores: [1, 1, 2, 2, 3], labels: [0, 1, 0, 1, 1])
        let b = try DetectionMetrics(scores: [3, 2, 1, 2, 1], labels: [1, 1, 1, 0, 0])
        #expect(isNear(a.auroc, b.auroc))
        #expect(isNear(a.aupr, b.aupr))
    }

    // MARK: Average precision (scikit-learn's average_precision_score)

    /// average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.8333…:
    /// (0.5 − 0)·1 + (0.5 − 0.5)·0.5 + (1 − 0.5)·2/3.
    @Test func averagePrecisionMatchesScikitLearnsExample() throws {
        let metrics = try DetectionMetrics(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1])
        #expect(isNear(metrics.aupr, 5.0 / 6.0))
    }

    /// With ties, thresholds step over distinct scores: at 3 P = 1, R = 1/3; at 2 P = 2/3,
    /// R = 2/3; at 1 P = 3/5, R = 1: AP = (1 + 2/3 + 3/5)/3 = 34/45.
    @Test func averagePrecisionStepsOverDistinctScoresWithTies() throws {
        let metrics = try DetectionMetrics(scores: [1, 1, 2, 2, 3], labels: [0, 1, 0, 1, 1])
        #expect(isNear(metrics.aupr, 34.0 / 45.0))
    }

    @Test func averagePrecisionOfPerfectInvertedAndConstantScores() throws {
        #expect(try DetectionMetrics(scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1]).aupr == 1)
        // Inverted: P = 1/3 at R = 1/2, then P = 1/2 at R = 1: 1/6 + 1/4.
        let inverted = try DetectionMetrics(scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1])
        #expect(isNear(inverted.aupr, 1.0 / 6.0 + 1.0 / 4.0))
        // All scores equal: the fraction of positives.
        let constant = try DetectionMetrics(scores: [3, 3, 3, 3, 3], labels: [0, 1, 1, 0, 1])
        #expect(isNear(constant.aupr, 0.6))
    }

    // MARK: Best-threshold metrics

    /// Thresholds over [0.1, 0.4, 0.35, 0.8] with labels [0, 0, 1, 1]: (TPR, FPR) =
    /// (½, 0), (½, ½), (1, ½), (1, 1): best balanced accuracy ¾. F1 = ⅔, ½, 0.8, ⅔: best 0.8.
    @Test func maxBalancedAccuracyAndMaxF1OnAHandCase() throws {
        let metrics = try DetectionMetrics(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1])
        #expect(isNear(metrics.maxBalancedAccuracy, 0.75))
        #expect(isNear(metrics.maxF1, 0.8))
    }

    @Test func maxBalancedAccuracyAndMaxF1OnTiedScores() throws {
        // Thresholds at 3, 2, 1: (TPR, FPR) = (⅓, 0), (⅔, ½), (1, 1); balanced ⅔, 7/12, ½.
        // F1: P = 1, R = ⅓ → ½; P = ⅔, R = ⅔ → ⅔; P = ⅗, R = 1 → ¾.
        let metrics = try DetectionMetrics(scores: [1, 1, 2, 2, 3], labels: [0, 1, 0, 1, 1])
        #expect(isNear(metrics.maxBalancedAccuracy, 2.0 / 3.0))
        #expect(isNear(metrics.maxF1, 0.75))
    }

    @Test func bestThresholdMetricsOfPerfectInvertedAndConstantScores() throws {
        let perfect = try DetectionMetrics(scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1])
        #expect(perfect.maxBalancedAccuracy == 1)
        #expect(perfect.maxF1 == 1)
        let inverted = try DetectionMetrics(scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1])
        // Flagging nothing is balanced accuracy ½; flagging everything gives F1 = 2·½·1/(3/2).
        #expect(isNear(inverted.maxBalancedAccuracy, 0.5))
        #expect(isNear(inverted.maxF1, 2.0 / 3.0))
        let constant = try DetectionMetrics(scores: [3, 3, 3, 3, 3], labels: [0, 1, 1, 0, 1])
        #expect(isNear(constant.maxBalancedAccuracy, 0.5))
        #expect(isNear(constant.maxF1, 0.75))
    }

    // MARK: Errors

    @Test func countMismatchIsAnInvalidEvaluation() {
        let error = #expect(throws: MOCCAError.self) { try DetectionMetrics(scores: [0.1, 0.2, 0.3], labels: [0, 1]) }
        guard case .invalidEvaluation? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test(arguments: [[0, 0, 0], [1, 1, 1]])
    func singleClassIsAnInvalidEvaluation(labels: [Int]) {
        let error = #expect(throws: MOCCAError.self) { try DetectionMetrics(scores: [0.1, 0.2, 0.3], labels: labels) }
        guard case .invalidEvaluation? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func nonFiniteScoreIsAnInvalidEvaluation(bad: Float) {
        let error = #expect(throws: MOCCAError.self) { try DetectionMetrics(scores: [0.1, bad, 0.3, 0.4], labels: [0, 1, 0, 1]) }
        guard case .invalidEvaluation? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func emptyInputIsAnInvalidEvaluation() {
        let error = #expect(throws: MOCCAError.self) { try DetectionMetrics(scores: [], labels: []) }
        guard case .invalidEvaluation? = error else { Issue.record("got \(String(describing: error))"); return }
    }
}
