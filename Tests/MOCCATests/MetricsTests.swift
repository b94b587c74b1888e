import MOCCA
import MOCCACore
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

    // MARK: AUROC standard error (DeLong)

    /// Positives [0.9, 0.6, 0.6], negatives [0.6, 0.3], worked by hand from the pairwise
    /// definition: each positive outranks a share V10 = [1, 0.75, 0.75] of the negatives
    /// (ties one half), each negative is outranked by a share V01 = [2/3, 1] of the
    /// positives; AUROC 5/6; Var = s²(V10)/3 + s²(V01)/2 = (1/48)/3 + (1/18)/2 = 5/144.
    @Test func delongStandardErrorMatchesAHandWorkedCase() throws {
        let metrics = try DetectionMetrics(scores: [0.9, 0.6, 0.6, 0.6, 0.3], labels: [1, 1, 1, 0, 0])
        #expect(isNear(metrics.auroc, 5.0 / 6.0))
        let error = try #require(metrics.aurocStandardError)
        #expect(abs(error - (5.0 / 144.0).squareRoot()) < 1e-12)
        let interval = try #require(metrics.aurocInterval95)
        #expect(abs(interval.lowerBound - (5.0 / 6.0 - 1.959964 * error)) < 1e-12 && interval.upperBound == 1)
    }

    /// The midrank computation against the O(mn) pairwise definition, on seeded scores
    /// with many ties.
    @Test func delongStandardErrorMatchesThePairwiseDefinition() throws {
        var generator = RandomGenerator(seed: 7)
        let labels = (0..<60).map { _ in Int.random(in: 0...2, using: &generator) == 0 ? 1 : 0 }
        let scores = labels.map { Float(Int.random(in: 0...9, using: &generator) + 3 * $0) }
        let positives = zip(scores, labels).filter { $0.1 == 1 }.map(\.0), negatives = zip(scores, labels).filter { $0.1 == 0 }.map(\.0)
        func psi(_ x: Float, _ y: Float) -> Double { x > y ? 1 : x == y ? 0.5 : 0 }
        let v10 = positives.map { x in negatives.map { psi(x, $0) }.reduce(0, +) / Double(negatives.count) }
        let v01 = negatives.map { y in positives.map { psi($0, y) }.reduce(0, +) / Double(positives.count) }
        func variance(_ v: [Double]) -> Double {
            let mean = v.reduce(0, +) / Double(v.count)
            return v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count - 1)
        }
        let expected = (variance(v10) / Double(positives.count) + variance(v01) / Double(negatives.count)).squareRoot()
        let metrics = try DetectionMetrics(scores: scores, labels: labels)
        #expect(isNear(metrics.auroc, v10.reduce(0, +) / Double(positives.count)))
        #expect(abs(try #require(metrics.aurocStandardError) - expected) < 1e-12)
    }

    /// Obuchowski's clustered estimator on three groups of one positive and one negative,
    /// worked by hand: positives [0.9, 0.4, 0.8], negatives [0.2, 0.6, 0.3], AUROC 8/9;
    /// per group the deviations of the shares from 8/9 are (1/9, 1/9), (−2/9, −2/9),
    /// (1/9, 1/9). S10 = S01 = 3/(2·3) · 6/81 = 1/27 and S11 = 3/2 · 6/81 = 1/9, so
    /// Var = 1/81 + 1/81 + 2·(1/9)/9 = 4/81: SE 2/9, where DeLong's (independent samples)
    /// gives √2/9.
    @Test func clusteredStandardErrorMatchesAHandWorkedCase() throws {
        let scores: [Float] = [0.9, 0.2, 0.4, 0.6, 0.8, 0.3], labels = [1, 0, 1, 0, 1, 0]
        let grouped = try DetectionMetrics(scores: scores, labels: labels, groups: [0, 0, 1, 1, 2, 2])
        #expect(isNear(grouped.auroc, 8.0 / 9.0) && grouped.aurocGroupCount == 3)
        #expect(abs(try #require(grouped.aurocStandardError) - 2.0 / 9.0) < 1e-12)
        let independent = try DetectionMetrics(scores: scores, labels: labels)
        #expect(abs(try #require(independent.aurocStandardError) - 2.0.squareRoot() / 9.0) < 1e-12 && independent.aurocGroupCount == nil)
        // Singleton groups are DeLong's estimator.
        #expect(abs(try #require(DetectionMetrics(scores: scores, labels: labels, groups: Array(0..<6)).aurocStandardError)
                    - 2.0.squareRoot() / 9.0) < 1e-12)
    }

    /// Copies of a sample add no information: k copies of each, grouped by original, give
    /// the originals' DeLong standard error, where treating copies as independent shrinks
    /// it by √k.
    @Test func clusteredStandardErrorIgnoresCopiesWithinAGroup() throws {
        var generator = RandomGenerator(seed: 11)
        let labels = (0..<40).map { $0 % 3 == 0 ? 1 : 0 }
        let scores = labels.map { Float(Int.random(in: 0...20, using: &generator) + 4 * $0) }
        let original = try #require(try DetectionMetrics(scores: scores, labels: labels).aurocStandardError)
        let copies = 4
        let repeated = (scores.flatMap { Array(repeating: $0, count: copies) }, labels.flatMap { Array(repeating: $0, count: copies) })
        let groups = labels.indices.flatMap { Array(repeating: $0, count: copies) }
        let grouped = try DetectionMetrics(scores: repeated.0, labels: repeated.1, groups: groups)
        #expect(abs(try #require(grouped.aurocStandardError) - original) < 1e-12)
        let naive = try #require(try DetectionMetrics(scores: repeated.0, labels: repeated.1).aurocStandardError)
        #expect(naive < original * 0.6)
        #expect(throws: MOCCAError.self) { try DetectionMetrics(scores: scores, labels: labels, groups: [0, 1]) }
        // One group of positives: nothing to estimate the positives' spread from.
        #expect(try DetectionMetrics(scores: [0.9, 0.8, 0.1, 0.2], labels: [1, 1, 0, 0], groups: [0, 0, 1, 2]).aurocStandardError == nil)
    }

    /// A class of one sample has no variance to estimate; a perfect ranking has none.
    @Test func delongStandardErrorNeedsTwoOfEachClass() throws {
        #expect(try DetectionMetrics(scores: [0.1, 0.4, 0.8], labels: [0, 0, 1]).aurocStandardError == nil)
        #expect(try DetectionMetrics(scores: [0.1, 0.4, 0.8], labels: [0, 0, 1]).aurocInterval95 == nil)
        #expect(try DetectionMetrics(scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1]).aurocStandardError == 0)
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
