import MOCCACore

/// A 2-D convolution layer, as PyTorch's `Conv2d` (no groups or dilation).
public final class Conv2d: Module, Layer {
    /// `[out, in, kh, kw]`.
    public let weight: Tensor
    /// `[out]`, or nil.
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int

    /// Weights start from PyTorch's default Kaiming-uniform (a = √5) and bias U(±1/√fan_in).
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [outChannels, inChannels, kernelSize, kernelSize], biasCount: bias ? outChannels : nil, using: &generator)
        self.stride = stride
        self.padding = padding
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.convolution2d(input, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// A 2-D transposed convolution layer, as PyTorch's `ConvTranspose2d`; the weight is
/// `[in, out, kh, kw]` as in PyTorch.
public final class ConvTranspose2d: Module, Layer {
    /// `[in, out, kh, kw]`.
    public let weight: Tensor
    /// `[out]`, or nil.
    public let bias: Tensor?
    public let stride: Int
    public let padding: Int
    public let outputPadding: Int

    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, bias: Bool = true, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [inChannels, outChannels, kernelSize, kernelSize], biasCount: bias ? outChannels : nil, using: &generator)
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.convolutionTranspose2d(input, weight: weight, bias: bias, stride: stride,
                                          padding: padding, outputPadding: outputPadding)
    }
}

/// A fully connected layer, as PyTorch's `Linear`.
public final class Linear: Module, Layer {
    /// `[out, in]`.
    public let weight: Tensor
    /// `[out]`, or nil.
    public let bias: Tensor?

    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [outFeatures, inFeatures], biasCount: bias ? outFeatures : nil, using: &generator)
    }

    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.linear(input, weight: weight, bias: bias)
    }
}
