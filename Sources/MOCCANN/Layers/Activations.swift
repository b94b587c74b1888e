import MOCCACore

/// `max(0, x)`.
public final class ReLU: Module, Layer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.relu() }
}

/// `x` where positive, `slope·x` elsewhere.
public final class LeakyReLU: Module, Layer {
    public let slope: Float
    public init(slope: Float = 0.01) { self.slope = slope }
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.leakyRelu(slope: slope) }
}

/// The logistic function.
public final class Sigmoid: Module, Layer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.sigmoid() }
}

/// The hyperbolic tangent.
public final class Tanh: Module, Layer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.tanh() }
}

/// Square-window max pooling.
public final class MaxPool2d: Module, Layer {
    public let kernelSize: Int
    public let stride: Int
    public init(kernelSize: Int, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.maxPool2d(input, kernelSize: kernelSize, stride: stride)
    }
}

/// Mean over the spatial axes: `[N, C, H, W]` to `[N, C]`.
public final class GlobalAveragePool2d: Module, Layer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try Tensor.globalAveragePool2d(input) }
}

/// Max pooling to a fixed output size.
public final class AdaptiveMaxPool2d: Module, Layer {
    public let outputHeight: Int
    public let outputWidth: Int
    public init(outputHeight: Int, outputWidth: Int) {
        self.outputHeight = outputHeight
        self.outputWidth = outputWidth
    }
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.adaptiveMaxPool2d(input, outputSize: (outputHeight, outputWidth))
    }
}

/// Nearest-neighbour upsampling by an integer factor.
public final class UpsampleNearest2d: Module, Layer {
    public let factor: Int
    public init(factor: Int = 2) { self.factor = factor }
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try Tensor.upsampleNearest2d(input, factor: factor) }
}

/// Collapses every axis after the batch axis.
public final class Flatten: Module, Layer {
    public override init() {}
    public func callAsFunction(_ input: Tensor) throws -> Tensor { try input.flattened() }
}

/// Layers applied in order; weight keys are `layers.<index>.<name>`.
public final class Sequential: Module, Layer {
    /// The layers, in the order they run.
    public let layers: [Module]
    /// A stack of `layers`, run first to last.
    public init(_ layers: [Module & Layer]) { self.layers = layers }
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        var x = input
        for case let layer as Layer in layers { x = try layer(x) }
        return x
    }
}
