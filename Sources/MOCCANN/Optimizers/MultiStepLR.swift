import Foundation

/// Multiplies the learning rate by `gamma` at each milestone epoch (PyTorch's `MultiStepLR`).
///
/// After `epoch` calls of ``step()``, the rate is `base · gamma^k` where `k` counts the
/// milestones `≤ epoch`.
public final class MultiStepLR {
    public let optimizer: Optimizer
    public let milestones: [Int]
    public let gamma: Float
    public let baseLearningRate: Float
    public private(set) var epoch = 0

    public init(optimizer: Optimizer, milestones: [Int], gamma: Float = 0.1) {
        self.optimizer = optimizer
        self.milestones = milestones.sorted()
        self.gamma = gamma
        self.baseLearningRate = optimizer.learningRate
    }

    /// The learning rate for a given epoch.
    public func learningRate(atEpoch epoch: Int) -> Float {
        let passed = milestones.filter { $0 <= epoch }.count
        return baseLearningRate * Float(pow(Double(gamma), Double(passed)))
    }

    /// Advances one epoch and updates the optimiser's learning rate.
    public func step() {
        epoch += 1
        optimizer.learningRate = learningRate(atEpoch: epoch)
    }
}
