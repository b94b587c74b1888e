import Foundation

/// Multiplies the learning rate by `gamma` at each milestone epoch (PyTorch's `MultiStepLR`).
///
/// After `epoch` calls of ``step()``, the rate is `base · gamma^k` where `k` counts the
/// milestones `≤ epoch`.
public final class MultiStepLR {
    /// The optimiser whose learning rate is scheduled.
    public let optimizer: Optimizer
    /// The epochs at which the rate drops, sorted.
    public let milestones: [Int]
    /// The factor applied at each milestone.
    public let gamma: Float
    /// The optimiser's learning rate when the schedule was created.
    public let baseLearningRate: Float
    /// The number of epochs stepped so far.
    public private(set) var epoch = 0

    /// A schedule for `optimizer`, starting from its current learning rate.
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
