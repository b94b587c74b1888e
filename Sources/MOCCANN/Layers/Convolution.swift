import MOCCACore

/// A 2-D convolution layer, as PyTorch's `Conv2d` (no groups or dilation).
public final class Conv2d: Module, Layer {
    /// `[out, in, kh, kw]`.
    public let weight: Tensor
    /// `[out]`, or nil.
    public let bias: Tensor?
    /// The step between kernel positions.
    public let stride: Int
    /// Zeros added to each side of both spatial axes.
    public let padding: Int

    /// Weights start from PyTorch's default Kaiming-uniform (a = √5) and bias U(±1/√fan_in).
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                bias: Bool = true, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [outChannels, inChannels, kernelSize, kernelSize], biasCount: bias ? outChannels : nil, using: &generator)
        self.stride = stride
        self.padding = padding
    }

    /// Convolves `[N, in, H, W]` input to `[N, out, H', W']`. In evaluation mode without
    /// gradients it runs oneDNN's inference kernels (``InferenceFusion``).
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        if InferenceFusion.applies(to: self) {
            return try Tensor.inferenceConvolution2d(input, weight: weight, bias: bias, stride: stride, padding: padding)
        }
        return try Tensor.convolution2d(input, weight: weight, bias: bias, stride: stride, padding: padding)
    }
}

/// A 2-D transposed convolution layer, as PyTorch's `ConvTranspose2d`; the weight is
/// `[in, out, kh, kw]` as in PyTorch.
public final class ConvTranspose2d: Module, Layer {
    /// `[in, out, kh, kw]`.
    public let weight: Tensor
    /// `[out]`, or nil.
    public let bias: Tensor?
    /// The spacing, in the output, of neighbouring input positions.
    public let stride: Int
    /// The padding of the matching forward convolution: trimmed from each side of the output.
    public let padding: Int
    /// Extra rows and columns on one side of the output, to pick the output size when `stride > 1`.
    public let outputPadding: Int

    /// Weights start from PyTorch's default initialisation, as in ``Conv2d``.
    public init(inChannels: Int, outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, bias: Bool = true, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [inChannels, outChannels, kernelSize, kernelSize], biasCount: bias ? outChannels : nil, using: &generator)
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    /// Maps `[N, in, H, W]` to `[N, out, H', W']`, `H' = (H − 1)·stride − 2·padding + kernel size + outputPadding`.
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

    /// Weights start from PyTorch's default Kaiming-uniform (a = √5) and bias U(±1/√fan_in).
    public init(inFeatures: Int, outFeatures: Int, bias: Bool = true, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [outFeatures, inFeatures], biasCount: bias ? outFeatures : nil, using: &generator)
    }

    /// `input · weightᵀ + bias`: `[N, in]` to `[N, out]`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.linear(input, weight: weight, bias: bias)
    }
}
