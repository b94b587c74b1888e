import Foundation
import MOCCA
import Testing

@Suite("Threshold rules")
struct ThresholdTests {
    /// [1, 2, 3, 4, 5]: the 0.75 quantile is at position 3, i.e. 4.
    @Test func trainingQuantileIsTheOneMinusNuQuantile() throws {
        let t = try ThresholdRule.trainingQuantile(nu: 0.25).threshold(referenceScores: [5, 3, 1, 4, 2])
        #expect(t == 4)
        // ν = 0.1 over [1…5]: position 3.6, 4.6.
        let u = try ThresholdRule.trainingQuantile(nu: 0.1).threshold(referenceScores: [1, 2, 3, 4, 5])
        #expect(abs(u - 4.6) < 1e-5)
    }

    /// 0…10: the 0.9 quantile is 9.
    @Test func contaminationIsTheOneMinusRateQuantile() throws {
        let t = try ThresholdRule.contamination(rate: 0.1).threshold(referenceScores: (0...10).map(Float.init))
        #expect(abs(t - 9) < 1e-5)
    }

    /// [4, 1, 3, 2]: the median interpolates to 2.5.
    @Test func falsePositiveRateIsTheOneMinusRateQuantileOfHeldOutScores() throws {
        let t = try ThresholdRule.falsePositiveRate(rate: 0.5).threshold(referenceScores: [4, 1, 3, 2])
        #expect(t == 2.5)
    }

    @Test func fixedValueIgnoresTheReferenceScores() throws {
        #expect(try ThresholdRule.value(3.5).threshold(referenceScores: [100, 200]) == 3.5)
        #expect(try ThresholdRule.value(-1).threshold(referenceScores: []) == -1)
    }

    @Test(arguments: [0.0, 1.0, -0.1, 1.5, Double.nan, Double.infinity])
    func rateOutsideTheOpenUnitIntervalThrows(rate: Double) {
        for rule in [ThresholdRule.trainingQuantile(nu: rate), .contamination(rate: rate), .falsePositiveRate(rate: rate)] {
            let error = #expect(throws: MOCCAError.self, "\(rule)") { try rule.threshold(referenceScores: [1, 2, 3]) }
            guard case .invalidConfiguration? = error else { Issue.record("\(rule): got \(String(describing: error))"); continue }
        }
    }

    @Test func noReferenceScoresThrows() {
        let error = #expect(throws: MOCCAError.self) { try ThresholdRule.contamination(rate: 0.1).threshold(referenceScores: []) }
        guard case .invalidConfiguration? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func rulesRoundTripThroughJSON() throws {
        let rules: [ThresholdRule] = [.trainingQuantile(nu: 0.1), .contamination(rate: 0.05), .falsePositiveRate(rate: 0.2), .value(1.25)]
        let decoded = try JSONDecoder().decode([ThresholdRule].self, from: JSONEncoder().encode(rules))
        #expect(decoded == rules)
    }
}
