import Foundation
import MOCCACore
import MOCCANN
import MOCCATestSupport
import Testing

/// Optimiser trajectories against PyTorch's float32 optimisers (`optim.safetensors`):
/// `p0 = det_fill([10], 50)`, then five steps with the fixed gradients `g1 ... g5`.
///
/// PyTorch runs these updates in float32 too, so the only differences are the order of
/// float32 operations: the largest measured deviation over all configs and steps is 6e-8
/// (one or two float32 ulps of values below 1), against a tolerance of `1e-6 + 1e-6·|p|`.
@Suite("Optimisers match PyTorch")
struct OptimizerTests {
    static let rtol: Float = 1e-6
    static let atol: Float = 1e-6

    /// Runs `make`'s optimiser for five steps from `p0` and compares each step with
    /// `<name>.step<t>`; `afterStep` runs after every step (for a schedule).
    func checkTrajectory(_ name: String, sourceLocation: SourceLocation = #_sourceLocation,
                         _ make: (Tensor) -> (Optimizer, afterStep: () -> Void)) throws {
        let fixture = try Fixtures.load("optim")
        let p = leaf(try fixture.tensor("p0"))
        let (optimizer, afterStep) = make(p)
        #expect(optimizer.parameters.count == 1 && optimizer.parameters[0] === p, sourceLocation: sourceLocation)
        var previous = p.scalars
        for t in 1...5 {
            p.grad = try fixture.tensor("g\(t)").copy()
            try optimizer.step()
            afterStep()
            let expected = try fixture.tensor("\(name).step\(t)")
            let score = closeness(p, expected, rtol: Self.rtol, atol: Self.atol)
            #expect(score <= 1, "\(name) step \(t): \(score)× the tolerance", sourceLocation: sourceLocation)
            // Each step moves the parameter, so a no-op optimiser cannot pass.
            #expect(p.scalars != previous, "\(name) step \(t) left the parameter unchanged", sourceLocation: sourceLocation)
            previous = p.scalars
        }
    }

    @Test func adamWithL2WeightDecay() throws {
        try checkTrajectory("adam") { p in
            (Adam(parameters: [p], learningRate: 1e-2, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.1), {})
        }
    }

    @Test func adamWWithDecoupledWeightDecay() throws {
        try checkTrajectory("adamw") { p in
            (Adam.adamW(parameters: [p], learningRate: 1e-2, weightDecay: 0.1), {})
        }
    }

    @Test func sgdWithMomentumAndWeightDecay() throws {
        try checkTrajectory("sgd") { p in
            (SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01), {})
        }
    }

    @Test func plainSGD() throws {
        try checkTrajectory("sgd_plain") { p in (SGD(parameters: [p], learningRate: 0.1), {}) }
    }

    @Test func adamWithMultiStepSchedule() throws {
        let fixture = try Fixtures.load("optim")
        // PyTorch's learning rate in force at each of the five steps.
        let expectedRates = try #require(fixture.metadata["adam_multistep.lr_per_step"])
        let rates = try JSONDecoder().decode([Double].self, from: Data(expectedRates.utf8))
        var used: [Float] = []
        try checkTrajectory("adam_multistep") { p in
            let adam = Adam(parameters: [p], learningRate: 1e-2, weightDecay: 0)
            let schedule = MultiStepLR(optimizer: adam, milestones: [2, 4], gamma: 0.1)
            used.append(adam.learningRate)
            return (adam, {
                schedule.step()
                used.append(adam.learningRate)
            })
        }
        #expect(rates.count == 5)
        for (rate, expected) in zip(used, rates) {
            #expect(abs(Double(rate) - expected) <= 1e-7 * expected, "learning rate \(rate) vs \(expected)")
        }
    }

    @Test func parametersWithoutGradientAreSkipped() throws {
        let p = leaf(try Tensor(shape: [3], scalars: [1, 2, 3]))
        for optimizer: Optimizer in [Adam(parameters: [p], learningRate: 0.1, weightDecay: 0.1),
                                     SGD(parameters: [p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.1)] {
            try optimizer.step()
            #expect(p.scalars == [1, 2, 3])
        }
    }

    @Test func zeroGradientsClearsEveryGradient() throws {
        let a = leaf(Tensor(zeros: [2])), b = leaf(Tensor(zeros: [3]))
        a.grad = Tensor(repeating: 1, shape: [2])
        b.grad = Tensor(repeating: 1, shape: [3])
        let optimizer = SGD(parameters: [a, b], learningRate: 0.1)
        optimizer.zeroGradients()
        #expect(a.grad == nil && b.grad == nil)
    }
}

@Suite("MultiStepLR")
struct MultiStepLRTests {
    @Test func learningRateDropsByGammaAtEachMilestone() {
        let optimizer = SGD(parameters: [leaf(Tensor(zeros: [1]))], learningRate: 0.5)
        let schedule = MultiStepLR(optimizer: optimizer, milestones: [3, 6], gamma: 0.1)
        // Milestones ≤ epoch have passed: 0.5 for epochs 0–2, 0.05 for 3–5, 0.005 from 6.
        let expected: [Float] = [0.5, 0.5, 0.5, 0.05, 0.05, 0.05, 0.005, 0.005, 0.005]
        for (epoch, rate) in expected.enumerated() {
            let actual = schedule.learningRate(atEpoch: epoch)
            #expect(abs(actual - rate) <= 1e-7 * rate, "epoch \(epoch): \(actual) vs \(rate)")
        }
        #expect(schedule.baseLearningRate == 0.5)
    }

    @Test func unsortedAndRepeatedMilestonesCount() {
        let optimizer = SGD(parameters: [leaf(Tensor(zeros: [1]))], learningRate: 1)
        let schedule = MultiStepLR(optimizer: optimizer, milestones: [4, 2, 4], gamma: 0.5)
        #expect(schedule.milestones == [2, 4, 4])
        #expect(schedule.learningRate(atEpoch: 1) == 1)
        #expect(schedule.learningRate(atEpoch: 2) == 0.5)
        // PyTorch's MultiStepLR counts a repeated milestone twice.
        #expect(schedule.learningRate(atEpoch: 4) == 0.125)
    }

    @Test func stepAdvancesTheEpochAndSetsTheOptimizersRate() {
        let optimizer = Adam(parameters: [leaf(Tensor(zeros: [1]))], learningRate: 1e-2)
        let schedule = MultiStepLR(optimizer: optimizer, milestones: [2, 4], gamma: 0.1)
        var rates: [Float] = [optimizer.learningRate]
        for _ in 0..<5 {
            schedule.step()
            rates.append(optimizer.learningRate)
        }
        #expect(schedule.epoch == 5)
        let expected: [Float] = [1e-2, 1e-2, 1e-3, 1e-3, 1e-4, 1e-4]
        for (rate, want) in zip(rates, expected) {
            #expect(abs(rate - want) <= 1e-7 * want, "\(rates)")
        }
    }
}
