import MOCCACore

/// Fused evaluation-mode passes: a BatchNorm folded into the convolution before it, the
/// activation after it applied by the convolution's kernel as it writes its output, and
/// oneDNN's inference kernels.
///
/// In evaluation mode a BatchNorm is a fixed per-channel affine map (its running
/// statistics), so `activation(bn(conv(x)))` is one convolution with folded weights and
/// bias and a oneDNN post-op: one pass over the output instead of three
/// (``Conv2d/callAsFunction(_:normalizedBy:activation:)``). Where a network must keep the
/// convolution's raw output (a tap reads it), the BatchNorm and LeakyReLU run on the pooled
/// values in the pool's pass instead (``BatchNorm/maxPooledLeakyRelu(_:kernelSize:slope:)``),
/// and a plain ``Conv2d`` call runs oneDNN's `forward_inference` kernel. Layers take these
/// paths only when ``applies(to:)`` holds: fusion on, no gradient recorded, and every
/// layer involved in evaluation mode. Otherwise, and whenever fusion is off, they run the
/// unfused layers, which stay the reference: the two agree to float32 rounding.
///
/// Transposed convolutions fold only where they can run as ordinary convolutions (stride 1,
/// ``ConvTranspose2d/callAsFunction(_:normalizedBy:activation:)``, or as phase kernels after
/// nearest upsampling, ``ConvTranspose2d/callAsFunction(nearestUpsampled:normalizedBy:activation:)``): oneDNN 2.6 runs a
/// transposed convolution as a backward-data convolution and applies a bias and post-ops
/// in separate loops after it, which cost more than the BatchNorm and LeakyReLU passes they
/// would replace.
///
/// The folded weights are computed on every fused call (a few hundred thousand products
/// for a LeNet encoder, against tens of milliseconds per batch): parameters carry no
/// version that a cache could check, and an optimiser or ``Module/load(_:strict:)`` writes
/// them in place.
public enum InferenceFusion {
    /// Whether layers may fuse (on by default). Task-local: tests turn it off for their own
    /// task to compute the unfused reference.
    @TaskLocal public static var isEnabled = true

    /// Layers with fewer channels than this on a side keep the layouts and kernels measured
    /// for channel-poor convolutions (oneDNN's smallest channel block).
    static let poorChannels = 8

    /// Whether a pass through `modules` may run fused now: fusion is on, no gradient is
    /// recorded, every module is in evaluation mode, and the task runs in float32. The fused
    /// kernels are float32; under `--precision bf16` the unfused bf16 convolutions are the
    /// faster path (AVX-512 EPYC, 2 threads, `mocca speed score|core`: scoring 7,856–8,101
    /// img/s fused in float32 against 10,088–10,548 unfused in bf16; autoencoder inference
    /// 3,524–3,602 against 4,860–4,920).
    public static func applies(to modules: Module...) -> Bool {
        isEnabled && !GradientMode.isRecording && ComputePrecision.precision == .fp32 && modules.allSatisfy { !$0.isTraining }
    }
}

extension BatchNorm {
    /// This BatchNorm in evaluation mode as a per-channel map `(x − center)·scale + shift`:
    /// the running mean, `γ/√(running variance + ε)` and `β` (γ = 1 and β = 0 when not affine).
    public func evaluationAffine() throws -> (center: [Float], scale: [Float], shift: [Float]) {
        let mean = try runningMean.plain().scalars, variance = try runningVariance.plain().scalars
        let gamma = try weight?.plain().scalars, beta = try bias?.plain().scalars
        let scale = variance.indices.map { c in (gamma?[c] ?? 1) / (variance[c] + epsilon).squareRoot() }
        return (mean, scale, beta ?? [Float](repeating: 0, count: mean.count))
    }

    /// This BatchNorm in evaluation mode as `y ↦ scale·y + shift`, the form that folds into a
    /// convolution's weights and bias.
    func foldableAffine() throws -> (scale: [Float], shift: [Float]) {
        let (center, scale, shift) = try evaluationAffine()
        return (scale, center.indices.map { c in shift[c] - center[c] * scale[c] })
    }

    /// Whether this BatchNorm (over `[N, C, H, W]`) fits a convolution with `channels` outputs.
    func normalizesMaps(of channels: Int) -> Bool { inputRank == 4 && runningMean.count == channels }

    /// `leakyRelu(maxPool2d(self(input)))`, with a square window and a stride of the window.
    ///
    /// In evaluation mode without gradients, when every channel's scale is positive (always
    /// so without γ), it pools first and normalises and activates the pooled values in the
    /// same pass (``Tensor/maxPool2dChannelAffineLeakyRelu(_:kernelSize:center:scale:shift:slope:)``):
    /// an increasing map commutes with the maximum. This is the fusion left where `input`
    /// itself must be kept, so that this BatchNorm cannot fold into the convolution before it.
    /// Otherwise (training) a 2×2 window pools and activates in one op
    /// (``Tensor/maxPool2x2LeakyRelu(_:slope:)``), with the same values as the two.
    public func maxPooledLeakyRelu(_ input: Tensor, kernelSize: Int, slope: Float = 0.01) throws -> Tensor {
        if InferenceFusion.applies(to: self), input.rank == inputRank, input.rank == 4 {
            let (center, scale, shift) = try evaluationAffine()
            if scale.allSatisfy({ $0 > 0 }), center.count == input.shape[1] {
                return try Tensor.maxPool2dChannelAffineLeakyRelu(input, kernelSize: kernelSize, center: center,
                                                                  scale: scale, shift: shift, slope: slope)
            }
        }
        if kernelSize == 2 { return try Tensor.maxPool2x2LeakyRelu(self(input), slope: slope) }
        return try Tensor.maxPool2d(self(input), kernelSize: kernelSize).leakyRelu(slope: slope)
    }
}

extension Conv2d {
    /// `activation(bn(self(input)))`: in evaluation mode without gradients one convolution
    /// with `bn` folded into its weights and bias and `activation` fused; otherwise the
    /// layers one after another.
    public func callAsFunction(_ input: Tensor, normalizedBy bn: BatchNorm, activation: FusedActivation? = nil) throws -> Tensor {
        guard InferenceFusion.applies(to: self, bn), bn.normalizesMaps(of: weight.shape[0]) else {
            return try bn(self(input)).activated(activation)
        }
        let (scale, shift) = try bn.foldableAffine()
        let folded = try Tensor.foldingChannelAffine(weight: weight, bias: bias, outputAxis: 0, scale: scale, shift: shift)
        return try Tensor.inferenceConvolution2d(input, weight: folded.weight, bias: folded.bias, stride: stride,
                                                 padding: padding, activation: activation)
    }
}

extension ConvTranspose2d {
    /// `activation(bn(self(input)))`. In evaluation mode without gradients, a stride-1
    /// transposed convolution without channel-poor sides runs as the equivalent convolution
    /// (``Tensor/convolutionWeight(ofTransposed:)``) with `bn` folded in and `activation`
    /// fused; otherwise, and for other transposed convolutions, the layers run one after
    /// another.
    ///
    /// The convolution is used because oneDNN 2.6 applies a transposed convolution's bias
    /// and post-ops in slow separate loops, and because its inference kernel is faster than
    /// the transposed one: the CIFAR-10 decoder's 128 → 64 layer at 8×8 takes 10.3 ms with
    /// bias and LeakyReLU, against 13.1 ms bare as a transposed convolution (batch 128, one
    /// thread, AVX-512).
    public func callAsFunction(_ input: Tensor, normalizedBy bn: BatchNorm, activation: FusedActivation? = nil) throws -> Tensor {
        let (inputs, outputs, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        guard InferenceFusion.applies(to: self, bn), bn.normalizesMaps(of: outputs), stride == 1, outputPadding == 0,
              weight.shape[3] == kernel, padding < kernel,
              min(inputs, outputs) >= InferenceFusion.poorChannels else {
            return try bn(self(input)).activated(activation)
        }
        let (scale, shift) = try bn.foldableAffine()
        let folded = try Tensor.foldingChannelAffine(weight: Tensor.convolutionWeight(ofTransposed: weight), bias: bias,
                                                     outputAxis: 0, scale: scale, shift: shift)
        return try Tensor.inferenceConvolution2d(input, weight: folded.weight, bias: folded.bias,
                                                 padding: kernel - 1 - padding, activation: activation)
    }
}

extension ConvTranspose2d {
    /// `activation(bn(self(upsampleNearest2d(input, factor: 2))))`, `bn` and `activation`
    /// optional: the Deep SVDD decoders' "upsample, then transposed convolution".
    ///
    /// A stride-1 layer with a square odd kernel of 5 or more and padding `(k − 1)/2` runs on
    /// the input's own grid, as four phase kernels and an interleave
    /// (``Tensor/nearestUpsampledConvolutionTranspose2d(_:weight:bias:padding:)``): 9
    /// multiply-adds per output for a 5×5 kernel instead of 25. In evaluation mode without
    /// gradients the phase convolution runs oneDNN's inference kernel with `bn` folded in and
    /// `activation` fused (both are per channel, so they commute with the interleave).
    /// Other layers upsample and run as ``callAsFunction(_:normalizedBy:activation:)``.
    public func callAsFunction(nearestUpsampled input: Tensor, normalizedBy bn: BatchNorm? = nil,
                               activation: FusedActivation? = nil) throws -> Tensor {
        let (kernel, outputs) = (weight.shape[2], weight.shape[1])
        guard stride == 1, outputPadding == 0, weight.shape[3] == kernel,
              let phases = UpsamplingPhases(kernelSize: kernel, padding: padding) else {
            let upsampled = try Tensor.upsampleNearest2d(input, factor: 2)
            guard let bn else { return try self(upsampled).activated(activation) }
            return try self(upsampled, normalizedBy: bn, activation: activation)
        }
        let fuses = bn.map { InferenceFusion.applies(to: self, $0) && $0.normalizesMaps(of: outputs) } ?? InferenceFusion.applies(to: self)
        guard fuses else {
            let output = try Tensor.nearestUpsampledConvolutionTranspose2d(input, weight: weight, bias: bias, padding: padding)
            return try (bn.map { try $0(output) } ?? output).activated(activation)
        }
        var kernels = try Tensor.phaseKernels(ofTransposed: weight, phases: phases)
        var phaseBias = try bias.map(Tensor.phaseBias)
        if let bn {
            // Per channel of the phase convolution's outputs, as its bias is (``Tensor/phaseBias(_:)``).
            let (scale, shift) = try bn.foldableAffine()
            (kernels, phaseBias) = try Tensor.foldingChannelAffine(weight: kernels, bias: phaseBias, outputAxis: 0,
                                                                    scale: Array(repeating: scale, count: 4).flatMap { $0 },
                                                                    shift: Array(repeating: shift, count: 4).flatMap { $0 })
        }
        return try Tensor.phasesToSpace(Tensor.inferenceConvolution2d(input, weight: kernels, bias: phaseBias,
                                                                       padding: phases.padding, activation: activation))
    }
}

