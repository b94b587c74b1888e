import MOCCACore

/// A 3-D convolution layer over video volumes `[N, C, T, H, W]`, as PyTorch's `Conv3d` (no
/// groups or dilation), optionally causal in time for models that must not see future frames.
public final class Conv3d: Module, Layer {
    /// `[out, in, kt, kh, kw]`.
    public let weight: Tensor
    /// `[out]`, or nil.
    public let bias: Tensor?
    /// The step between kernel positions, per axis.
    public let stride: Size3D
    /// Zeros added to both sides of each axis (the time entry is 0 when ``causal``).
    public let padding: Size3D
    /// Whether output frame `t` sees only input frames up to `t`: the time axis is padded
    /// with `kt − 1` zero frames before and none after (see
    /// ``MOCCACore/Tensor/convolution3d(_:weight:bias:stride:padding:causal:)`` for why
    /// padding rather than a masked kernel).
    public let causal: Bool

    /// Weights start from PyTorch's default Kaiming-uniform (a = √5) and bias U(±1/√fan_in),
    /// with `fan_in = in·kt·kh·kw`.
    /// - Parameters:
    ///   - padding: with `causal`, give 0 for the time axis (e.g. `[0, 1, 1]`): the causal
    ///     padding replaces it, and a non-zero time padding throws when the layer runs.
    public init(inChannels: Int, outChannels: Int, kernelSize: Size3D, stride: Size3D = 1, padding: Size3D = 0,
                bias: Bool = true, causal: Bool = false, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [outChannels, inChannels] + kernelSize.values, biasCount: bias ? outChannels : nil, using: &generator)
        self.stride = stride
        self.padding = padding
        self.causal = causal
    }

    /// Convolves `[N, in, T, H, W]` input to `[N, out, T', H', W']`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.convolution3d(input, weight: weight, bias: bias, stride: stride, padding: padding, causal: causal)
    }
}

/// A 3-D transposed convolution layer, as PyTorch's `ConvTranspose3d`: the video decoder's
/// upsampling step. The weight is `[in, out, kt, kh, kw]` as in PyTorch.
public final class ConvTranspose3d: Module, Layer {
    /// `[in, out, kt, kh, kw]`.
    public let weight: Tensor
    /// `[out]`, or nil.
    public let bias: Tensor?
    /// The spacing, in the output, of neighbouring input positions, per axis.
    public let stride: Size3D
    /// The padding of the matching forward convolution: trimmed from both sides of each output axis.
    public let padding: Size3D
    /// Extra positions at the end of each output axis, to pick the output size when the stride exceeds 1.
    public let outputPadding: Size3D

    /// Weights start from PyTorch's default initialisation, as in ``Conv3d`` (PyTorch's
    /// fan-in of a transposed weight is `out·kt·kh·kw`, from its dimension 1).
    public init(inChannels: Int, outChannels: Int, kernelSize: Size3D, stride: Size3D = 1, padding: Size3D = 0,
                outputPadding: Size3D = 0, bias: Bool = true, generator: inout RandomGenerator) {
        (weight, self.bias) = Initializer.defaultParameters(
            weightShape: [inChannels, outChannels] + kernelSize.values, biasCount: bias ? outChannels : nil, using: &generator)
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
    }

    /// Maps `[N, in, T, H, W]` to `[N, out, T', H', W']`, each axis `(n − 1)·stride − 2·padding + kernel + outputPadding`.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        try Tensor.convolutionTranspose3d(input, weight: weight, bias: bias, stride: stride,
                                          padding: padding, outputPadding: outputPadding)
    }
}
