import CDNNL

/// An element-wise function that a kernel applies to its output as it writes it (a oneDNN
/// eltwise post-op), instead of a separate pass over the tensor.
public enum FusedActivation: Hashable, Sendable {
    /// `x` where positive, `slope·x` elsewhere (`slope` 0 is the ReLU).
    case leakyRelu(slope: Float)
    /// The logistic function `1 / (1 + e^{-x})`.
    case sigmoid

    /// oneDNN's algorithm and its alpha, the same ones ``Tensor/leakyRelu(slope:)`` and
    /// ``Tensor/sigmoid()`` run as separate passes.
    var eltwise: (algorithm: dnnl_alg_kind_t, alpha: Float) {
        switch self {
        case .leakyRelu(let slope): return (dnnl_eltwise_relu, slope)
        case .sigmoid: return (dnnl_eltwise_logistic, 0)
        }
    }

    /// The part of a primitive-cache key that names the activation.
    var key: String {
        switch self {
        case .leakyRelu(let slope): return "lrelu\(slope)"
        case .sigmoid: return "sigmoid"
        }
    }

    /// Appends this activation to a primitive's attributes as its only post-op.
    func append(to attributes: dnnl_primitive_attr_t, op: String) throws {
        try DNNL.withPostOps(op, attributes) { postOps in
            let (algorithm, alpha) = eltwise
            try DNNL.check(dnnl_post_ops_append_eltwise(postOps, 1, algorithm, alpha, 0), op, "dnnl_post_ops_append_eltwise")
        }
    }
}

extension DNNL {
    /// Builds a post-op chain with `body` and sets it on `attributes`, which keep their own copy.
    static func withPostOps(_ op: String, _ attributes: dnnl_primitive_attr_t, _ body: (dnnl_post_ops_t) throws -> Void) throws {
        var postOps: dnnl_post_ops_t?
        try check(dnnl_post_ops_create(&postOps), op, "dnnl_post_ops_create")
        guard let postOps else { throw TensorError.backend(op: op, message: "no post-ops") }
        defer { dnnl_post_ops_destroy(postOps) }
        try body(postOps)
        try check(dnnl_primitive_attr_set_post_ops(attributes, postOps), op, "dnnl_primitive_attr_set_post_ops")
    }
}

extension Tensor {
    /// This tensor through `activation` as a separate pass (itself for nil): what a fused
    /// kernel computes in one.
    public func activated(_ activation: FusedActivation?) throws -> Tensor {
        switch activation {
        case nil: return self
        case .leakyRelu(let slope)?: return try leakyRelu(slope: slope)
        case .sigmoid?: return try sigmoid()
        }
    }
}

/// Convolutions for inference only: an activation fused as a oneDNN post-op, and no
/// autograd record.
///
/// They exist for evaluation-mode passes, where a BatchNorm after a convolution is a fixed
/// per-channel affine map that folds into the convolution's weights and bias
/// (``Tensor/foldingChannelAffine(weight:bias:outputAxis:scale:shift:)``), and the
/// activation after it can be applied as the kernel writes its output: one pass over the
/// output instead of three. Layouts follow ``Tensor/convolution2d(_:weight:bias:stride:padding:)``,
/// channel-poor ends included.
///
/// There is no transposed counterpart: oneDNN 2.6 computes a transposed convolution as a
/// backward-data convolution and applies its bias and post-ops in separate loops after it,
/// slower than the separate passes they would replace (batch 128, one thread, AVX-512: the
/// CIFAR-10 decoder's 128 → 64 layer takes 13.1 ms, 14.5 ms with a bias and 28 ms with a
/// LeakyReLU post-op, while BatchNorm and LeakyReLU as their own passes take 0.2 ms). A
/// stride-1 transposed convolution is an ordinary convolution with rearranged weights
/// (``convolutionWeight(ofTransposed:)``), which these kernels run.
extension Tensor {
    /// `activation(x ⋆ weight + bias)` for `x` `[N, C, H, W]` and `weight` `[K, C, kh, kw]`.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` when gradients would be
    ///   recorded (an input requires them and the pass is not in ``withoutGradients(_:)``):
    ///   these kernels have no backward pass. Shape errors as ``convolution2d(_:weight:bias:stride:padding:)``.
    public static func inferenceConvolution2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
        activation: FusedActivation? = nil
    ) throws -> Tensor {
        let g = try ConvolutionGeometry(op: "conv2d", input: x, weight: weight, bias: bias, transposed: false,
                                        stride: stride, padding: padding, outputPadding: 0)
        if GradientMode.isEnabled, ([x, weight] + (bias.map { [$0] } ?? [])).contains(where: \.requiresGrad) {
            throw TensorError.invalidArgument(op: g.op, message: "the inference convolution has no backward pass; run it inside withoutGradients")
        }
        let forward = try g.inferencePrimitive(activation: activation)
        let src = try DNNL.reorder(x, to: forward.descriptor(dnnl_query_src_md))
        let weights = try DNNL.reorder(weight.plain(), to: forward.descriptor(dnnl_query_weights_md))
        return try g.runForward(forward, source: src, weights: weights, bias: bias)
    }

    /// The weight of the convolution that computes a stride-1 transposed convolution with
    /// `weight` `[C_in, C_out, kh, kw]`: `[C_out, C_in, kh, kw]`, each kernel rotated by half
    /// a turn. With padding `kh − 1 − p` (for a transposed padding `p`) the convolution gives
    /// the transposed convolution's output, to float32 rounding (the sums run in another order).
    /// - Throws: ``TensorError/rankMismatch(op:expected:got:)`` unless `weight` has rank 4.
    public static func convolutionWeight(ofTransposed weight: Tensor) throws -> Tensor {
        try Validate.rank(weight, 4, "transposed_weight", "weight [C_in, C_out, kh, kw]")
        let (inputs, outputs, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let source = try weight.plain()
        let result = Tensor(uninitializedShape: [outputs, inputs, kh, kw])
        withExtendedLifetime(source) {
            let src = source.floatPointer, dst = result.floatPointer
            for i in 0..<inputs {
                for o in 0..<outputs {
                    let from = (i * outputs + o) * kh * kw, to = (o * inputs + i) * kh * kw
                    for k in 0..<(kh * kw) { dst[to + k] = src[from + kh * kw - 1 - k] }
                }
            }
        }
        return result
    }

    /// A convolution's weight and bias with a per-output-channel affine map `y ↦ scale·y + shift`
    /// folded in: the convolution with the returned pair computes `scale·(x ⋆ weight + bias) + shift`.
    ///
    /// This is how an evaluation-mode BatchNorm disappears into the convolution before it:
    /// its running statistics make it such a map. The products are rounded once to float32,
    /// so the folded convolution agrees with convolution-then-affine to rounding, not bit
    /// for bit.
    /// - Parameters:
    ///   - weight: `[K, C, kh, kw]` (`outputAxis` 0) or a transposed convolution's `[C, K, kh, kw]` (`outputAxis` 1).
    ///   - bias: `[K]`, or nil for none.
    ///   - scale: `K` factors; `shift`: `K` offsets.
    /// - Throws: ``TensorError/shapeMismatch(op:message:)`` when the counts do not match the weight.
    public static func foldingChannelAffine(
        weight: Tensor, bias: Tensor?, outputAxis: Int, scale: [Float], shift: [Float]
    ) throws -> (weight: Tensor, bias: Tensor) {
        let op = "fold_channel_affine"
        try Validate.rank(weight, 4, op, "weight")
        guard outputAxis == 0 || outputAxis == 1 else {
            throw TensorError.invalidArgument(op: op, message: "the output axis is 0 or 1, got \(outputAxis)")
        }
        let outputs = weight.shape[outputAxis]
        guard scale.count == outputs, shift.count == outputs else {
            throw TensorError.shapeMismatch(op: op, message: "\(scale.count) scales and \(shift.count) shifts for \(outputs) output channels")
        }
        if let bias, bias.shape != [outputs] {
            throw TensorError.shapeMismatch(op: op, message: "bias \(bias.shape), expected [\(outputs)]")
        }
        let source = try weight.plain()
        let folded = Tensor(uninitializedShape: weight.shape)
        // Elements between consecutive output channels, and how often that run repeats.
        let run = weight.shape[(outputAxis + 1)...].reduce(1, *)
        let repeats = weight.shape[..<outputAxis].reduce(1, *)
        withExtendedLifetime(source) {
            let src = source.floatPointer, dst = folded.floatPointer
            for r in 0..<repeats {
                for o in 0..<outputs {
                    let base = (r * outputs + o) * run
                    for i in 0..<run { dst[base + i] = src[base + i] * scale[o] }
                }
            }
        }
        let oldBias = try bias?.plain().scalars
        let newBias = try Tensor(shape: [outputs], scalars: (0..<outputs).map { o in scale[o] * (oldBias?[o] ?? 0) + shift[o] })
        return (folded, newBias)
    }
}

extension ConvolutionGeometry {
    /// The inference primitive of this convolution with `activation` as its post-op, with
    /// the same layout rule as the training pass (``chooseLayouts(_:)``).
    func inferencePrimitive(activation: FusedActivation?) throws -> Primitive {
        // oneDNN's `forward_inference` picks its brgemm kernels (channels-last), measured
        // 5–9% faster than the `forward_training` direct kernels on the CIFAR-10 encoder's
        // 32 → 64 and 64 → 128 layers (batch 128 and 256, one thread, AVX-512), with the bias
        // and post-op free. With a channel-poor side they lose (3 → 32: 3.1 ms against
        // 2.7), so those keep the training kernels that ``ConvolutionLayoutChoice`` was
        // measured with; post-ops are supported there too.
        let kind = min(inChannels, outChannels) < ConvolutionLayoutChoice.poorChannels ? dnnl_forward_training : dnnl_forward_inference
        return try DNNL.primitive("\(key)|inf\(kind.rawValue)|\(activation?.key ?? "none")", op: op) { try chooseLayouts { layouts in
            let configure = activation.map { activation in { (attributes: dnnl_primitive_attr_t) in try activation.append(to: attributes, op: op) } }
            return try ConvolutionPass.forward(kind).descriptor(
                transposed: false, op: op, source: layouts.source, weights: anyLayoutWeights(),
                bias: biasDescriptor, destination: layouts.destination, window: window, configure: configure)
        } }
    }
}
