import MOCCA
import MOCCACore
import MOCCATestSupport
import Testing

@Suite("One-class objective")
struct OneClassObjectiveTests {
    @Test func epsilonRulePushesSmallNonZeroCoordinatesToPlusOrMinusEpsilonBySign() {
        let centroid: [Float] = [0.05, -0.05, 0, 0.2, -0.3, 0.1, -0.0999]
        let adjusted = OneClassObjective.adjustedCentroid(centroid)
        #expect(adjusted == [0.1, -0.1, 0, 0.2, -0.3, 0.1, -0.1])
    }

    @Test func epsilonRuleHonoursACustomEpsilon() {
        #expect(OneClassObjective.adjustedCentroid([0.3, -0.49, 0.5, 0], epsilon: 0.5) == [0.5, -0.5, 0.5, 0])
    }

    @Test func hardLossIsTheMeanDistance() throws {
        let d = try Tensor(shape: [4], scalars: [1, 2, 3, 6])
        let loss = try OneClassObjective.loss(distances: d, boundary: .hard, radius: 5, nu: 0.1)
        #expect(abs(loss.item - 3) < 1e-6)
    }

    @Test func hardLossGradientIsOneOverNForEverySample() throws {
        let d = leaf(try Tensor(shape: [4], scalars: [1, 2, 3, 6]))
        try OneClassObjective.loss(distances: d, boundary: .hard, radius: 0, nu: 0.1).backward()
        #expect(isNear(d.grad?.scalars ?? [], [0.25, 0.25, 0.25, 0.25]))
    }

    /// d = [0.5, 0.9, 2, 4.5], R = 1, ν = 0.5: R² + 2·mean(0, 0, 1, 3.5) = 1 + 2·1.125 = 3.25.
    @Test func softLossIsRadiusSquaredPlusOutsidePenaltyOverNu() throws {
        let d = try Tensor(shape: [4], scalars: [0.5, 0.9, 2, 4.5])
        let loss = try OneClassObjective.loss(distances: d, boundary: .soft, radius: 1, nu: 0.5)
        #expect(abs(loss.item - 3.25) < 1e-5)
        // ν = 1 and a radius of 0: the loss is the mean distance.
        let plain = try OneClassObjective.loss(distances: d, boundary: .soft, radius: 0, nu: 1)
        #expect(abs(plain.item - 7.9 / 4) < 1e-5)
    }

    /// ∂loss/∂d_i = (1/ν)/N outside the sphere (d_i > R²) and 0 inside.
    @Test func softLossGradientIsOneOverNuNOutsideTheRadiusAndZeroInside() throws {
        let d = leaf(try Tensor(shape: [4], scalars: [0.5, 0.9, 2, 4.5]))
        try OneClassObjective.loss(distances: d, boundary: .soft, radius: 1, nu: 0.5).backward()
        let expected: [Float] = [0, 0, (1 / 0.5) / 4, (1 / 0.5) / 4]
        #expect(isNear(d.grad?.scalars ?? [], expected), "\(d.grad?.scalars ?? [])")

        let e = leaf(try Tensor(shape: [5], scalars: [0.1, 3, 0.2, 5, 9]))
        try OneClassObjective.loss(distances: e, boundary: .soft, radius: 2, nu: 0.1).backward()
        // R² = 4: only 5 and 9 lie outside; (1/0.1)/5 = 2.
        #expect(isNear(e.grad?.scalars ?? [], [0, 0, 0, 2, 2], 1e-5), "\(e.grad?.scalars ?? [])")
    }

    /// √d = [1, 2, 3, 4, 5]; the 0.9 quantile sits at position 3.6: 4 + 0.6·(5 − 4) = 4.6.
    @Test func radiusIsTheOneMinusNuQuantileOfTheSquareRootDistances() {
        let r = OneClassObjective.radius(distances: [1, 4, 9, 16, 25], nu: 0.1)
        #expect(abs(r - 4.6) < 1e-5)
        // Unsorted input, ν = 0.5: the median of √d = [3, 1, 2] is 2.
        #expect(abs(OneClassObjective.radius(distances: [9, 1, 4], nu: 0.5) - 2) < 1e-6)
        // ν = 1: the minimum.
        #expect(abs(OneClassObjective.radius(distances: [9, 1, 4], nu: 1) - 1) < 1e-6)
    }

    /// Negative distances (rounding) count as 0: √ of [4, 0, 16, 0] sorted is [0, 0, 2, 4];
    /// the 0.75 quantile sits at 2.25: 2 + 0.25·2 = 2.5.
    @Test func radiusTreatsNegativeDistancesAsZero() {
        let r = OneClassObjective.radius(distances: [4, -1, 16, 0], nu: 0.25)
        #expect(abs(r - 2.5) < 1e-6)
        #expect(r.isFinite)
    }

    @Test func hardScoreIsTheDistance() {
        #expect(OneClassObjective.score(distances: [1, 4, 9], boundary: .hard, radius: 2) == [1, 4, 9])
    }

    @Test func softScoreIsTheDistanceMinusRadiusSquared() {
        #expect(OneClassObjective.score(distances: [1, 4, 9], boundary: .soft, radius: 2) == [-3, 0, 5])
        #expect(OneClassObjective.score(distances: [1, 4, 9], boundary: .soft, radius: 0) == [1, 4, 9])
    }
}
