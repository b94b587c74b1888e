import MOCCACore

/// `max(0, x)`.
public final class ReLU: Module, Layer {
    /// A ReLU layer.
    public override init() {}
    /// `max(0, input)`, elementwise.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.relu() }
}

/// `x` where positive, `slope·x` elsewhere.
public final class LeakyReLU: Module, Layer {
    /// The slope for negative inputs.
    public let slope: Float
    /// A leaky ReLU with the given negative slope (PyTorch's default 0.01).
    public init(slope: Float = 0.01) { self.slope = slope }
    /// The leaky ReLU of `input`, elementwise.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.leakyRelu(slope: slope) }
}

/// The logistic function.
public final class Sigmoid: Module, Layer {
    /// A sigmoid layer.
    public override init() {}
    /// `1 / (1 + e^(−input))`, elementwise.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.sigmoid() }
}

/// The hyperbolic tangent.
public final class Tanh: Module, Layer {
    /// A tanh layer.
    public override init() {}
    /// `tanh(input)`, elementwise.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.tanh() }
}

/// Square-window max pooling.
public final class MaxPool2d: Module, Layer {
    /// The side of the square window.
    public let kernelSize: Int
    /// The step between windows.
    public let stride: Int
    /// Pooling over `kernelSize × kernelSize` windows; the stride defaults to the window size.
    public init(kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }
    /// Max-pools `[N, C, H, W]` input over each window.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.maxPool2d(input, kernelSize: kernelSize, stride: stride)
    }
}

/// Mean over the spatial axes: `[N, C, H, W]` to `[N, C]`.
public final class GlobalAveragePool2d: Module, Layer {
    /// A global average pooling layer.
    public override init() {}
    /// Averages `[N, C, H, W]` input to `[N, C]`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try Tensor.globalAveragePool2d(input) }
}

/// Max pooling to a fixed output size.
public final class AdaptiveMaxPool2d: Module, Layer {
    /// The height of the output.
    public let outputHeight: Int
    /// The width of the output.
    public let outputWidth: Int
    /// Pooling to `outputHeight × outputWidth`.
    public init(outputHeight: Int, outputWidth: Int) {
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
    }
    /// Max-pools `[N, C, H, W]` input to `[N, C, outputHeight, outputWidth]` with PyTorch's bins.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.adaptiveMaxPool2d(input, outputSize: (outputHeight, outputWidth))
    }
}

/// Nearest-neighbour upsampling by an integer factor.
public final class UpsampleNearest2d: Module, Layer {
    /// How many times each pixel is repeated along each spatial axis.
    public let factor: Int
    /// Upsampling by `factor` (2 by default).
    public init(factor: Int = 2) { self.factor = factor }
    /// Upsamples `[N, C, H, W]` input to `[N, C, H·factor, W·factor]`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try Tensor.upsampleNearest2d(input, factor: factor) }
}

/// Collapses every axis after the batch axis.
public final class Flatten: Module, Layer {
    /// A flatten layer.
    public override init() {}
    /// Reshapes `[N, ...]` input to `[N, D]`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.flattened() }
}

/// Layers applied in order; weight keys are `layers.<index>.<name>`.
public final class Sequential: Module, Layer {
    /// The layers, in the order they run.
    public let layers: [Module]
    /// A stack of `layers`, run first to last.
    public init(_ layers: [Module & Layer]) { self.layers = layers }
    /// Runs `input` through the layers in order.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        var x = input
        for case let layer as Layer in layers { x = try layer(x) }
        return x
    }
}
