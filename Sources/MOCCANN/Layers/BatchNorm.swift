import MOCCACore

/// Batch normalisation over `[N, C]` (PyTorch's `BatchNorm1d`), `[N, C, H, W]`
/// (`BatchNorm2d`) or `[N, C, T, H, W]` (`BatchNorm3d`), with running statistics for
/// evaluation mode.
public final class BatchNorm: Module, Layer {
    /// γ, or nil when not affine.
    public let weight: Tensor?
    /// β, or nil when not affine.
    public let bias: Tensor?
    /// The running mean and (unbiased) variance used in evaluation mode.
    public let runningMean: Tensor
    /// The running variance, saved as PyTorch's `running_var`.
    public let runningVariance: Tensor
    /// The running statistics' update rate.
    public let momentum: Float
    /// Added to the variance before the square root.
    public let epsilon: Float
    /// The input rank this layer accepts: 2 (1-D), 4 (2-D) or 5 (3-D).
    public let inputRank: Int

    /// Weight-file keys for the running statistics: PyTorch's `running_mean` and `running_var`.
    public override class var tensorKeys: [String: String] {
        ["runningMean": "running_mean", "runningVariance": "running_var"]
    }

    init(features: Int, inputRank: Int, epsilon: Float, momentum: Float, affine: Bool) {
        weight = affine ? Tensor(repeating: 1, shape: [features]) : nil
        bias = affine ? Tensor(zeros: [features]) : nil
        weight?.requiresGrad = true
        bias?.requiresGrad = true
        runningMean = Tensor(zeros: [features])
        runningVariance = Tensor(repeating: 1, shape: [features])
        self.epsilon = epsilon
        self.momentum = momentum
        self.inputRank = inputRank
    }

    /// PyTorch's `BatchNorm1d`: input `[N, C]`.
    public static func oneD(features: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) -> BatchNorm {
        BatchNorm(features: features, inputRank: 2, epsilon: epsilon, momentum: momentum, affine: affine)
    }

    /// PyTorch's `BatchNorm2d`: input `[N, C, H, W]`.
    public static func twoD(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) -> BatchNorm {
        BatchNorm(features: channels, inputRank: 4, epsilon: epsilon, momentum: momentum, affine: affine)
    }

    /// PyTorch's `BatchNorm3d`: input `[N, C, T, H, W]` (video), normalised per channel over N, T, H and W.
    public static func threeD(channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) -> BatchNorm {
        BatchNorm(features: channels, inputRank: 5, epsilon: epsilon, momentum: momentum, affine: affine)
    }

    /// Normalises `input` with the batch statistics in training mode (updating the running
    /// statistics), and with the running statistics in evaluation mode.
    /// - Throws: ``TensorError/rankMismatch(op:expected:got:)`` unless `input` has rank ``inputRank``.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        guard input.rank == inputRank else {
            throw TensorError.rankMismatch(op: "BatchNorm", expected: "input of rank \(inputRank)", got: input.shape)
        }
        return try Tensor.batchNormalization(
            input, scale: weight, shift: bias, runningMean: runningMean, runningVariance: runningVariance,
            training: isTraining, momentum: momentum, epsilon: epsilon)
    }
}
