import CDNNL

/// 2-D convolution and transposed convolution on oneDNN.
///
/// Every primitive is created with `format_tag_any`, so oneDNN picks its fastest
/// (blocked) layouts; activations stay in those layouts between oneDNN ops and are
/// reordered only when a consumer wants another one. Channel-poor convolutions (fewer
/// than 8 channels on a side) are the exception: see ``ConvolutionLayoutChoice``. Weights stay plain (`OIHW`, or
/// PyTorch's `[in, out, kh, kw]` for transposed convolutions) so that optimisers and
/// weight files see PyTorch's layout.
///
/// Under ``ComputePrecision/run(in:_:)`` with bf16, every pass reads its operands in
/// bfloat16 and accumulates and writes in float32: the forward pass takes a bf16 source
/// and bf16 weights and writes a float32 destination; backward-data takes a bf16 output
/// gradient and the same bf16 weights and writes a float32 input gradient;
/// backward-weights takes the forward's bf16 source and the bf16 output gradient and
/// writes float32 weight (and bias) gradients. The float32 weights stay the master copy
/// that the optimiser updates. Each tensor is rounded once per step, by oneDNN's reorder
/// (the CPU's own conversion, round to nearest even): the source in the forward pass (its
/// bf16 copy is kept for backward-weights), the weights in the forward pass (reused by
/// backward-data), the output gradient once for both backward passes. Activations
/// between layers stay float32, so BatchNorm and the activations are unchanged.
extension Tensor {
    /// Cross-correlation of `x` `[N, C, H, W]` with `weight` `[K, C, kh, kw]`, plus `bias` `[K]`.
    public static func convolution2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0
    ) throws -> Tensor {
        try convolution(x, weight: weight, bias: bias, call: ConvolutionGeometry(
            op: "conv2d", input: x, weight: weight, bias: bias, transposed: false,
            stride: stride, padding: padding, outputPadding: 0))
    }

    /// Transposed convolution (the gradient of a convolution with respect to its input),
    /// with PyTorch's `ConvTranspose2d` weight layout `[C_in, C_out, kh, kw]`.
    public static func convolutionTranspose2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0
    ) throws -> Tensor {
        try convolution(x, weight: weight, bias: bias, call: ConvolutionGeometry(
            op: "conv_transpose2d", input: x, weight: weight, bias: bias, transposed: true,
            stride: stride, padding: padding, outputPadding: outputPadding))
    }

}

/// The sizes of one 2-D convolution call, validated, and the oneDNN work for it.
struct ConvolutionGeometry: ConvolutionCall {
    let op: String
    let transposed: Bool
    let batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth: Int
    let stride, padding, outputPadding: Int
    let outHeight, outWidth: Int
    let hasBias: Bool
    /// The operands' precision, taken from ``ComputePrecision`` when the op is called, so
    /// that the backward passes run as the forward pass did wherever they are started.
    let precision: Precision

    init(op: String, input x: Tensor, weight: Tensor, bias: Tensor?, transposed: Bool,
         stride: Int, padding: Int, outputPadding: Int) throws {
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        try Validate.rank(weight, 4, op, "weight")
        try Validate.nonEmptyBatch(x, op)
        try Validate.positive(stride, "stride", op)
        guard padding >= 0, outputPadding >= 0 else {
            throw TensorError.invalidArgument(op: op, message: "padding \(padding) and output padding \(outputPadding) must be non-negative")
        }
        self.op = op
        self.transposed = transposed
        (batch, inChannels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let weightIn = transposed ? weight.shape[0] : weight.shape[1]
        outChannels = transposed ? weight.shape[1] : weight.shape[0]
        (kernelHeight, kernelWidth) = (weight.shape[2], weight.shape[3])
        guard weightIn == inChannels else {
            throw TensorError.shapeMismatch(op: op, message: "input has \(inChannels) channels, weight \(weight.shape) expects \(weightIn)")
        }
        if let bias, bias.shape != [outChannels] {
            throw TensorError.shapeMismatch(op: op, message: "bias \(bias.shape), expected [\(outChannels)]")
        }
        (self.stride, self.padding, self.outputPadding) = (stride, padding, outputPadding)
        if transposed {
            // PyTorch's rule (without dilation): output padding only picks among the sizes a
            // stride leaves open, whatever the padding. oneDNN takes it as a right padding of
            // `padding − outputPadding`, which may be negative (a 1×1 stride-2 shortcut).
            guard outputPadding < stride else {
                throw TensorError.invalidArgument(op: op, message: "output padding \(outputPadding) must be below the stride \(stride)")
            }
            outHeight = (height - 1) * stride - 2 * padding + kernelHeight + outputPadding
            outWidth = (width - 1) * stride - 2 * padding + kernelWidth + outputPadding
        } else {
            outHeight = (height + 2 * padding - kernelHeight) / stride + 1
            outWidth = (width + 2 * padding - kernelWidth) / stride + 1
            guard height + 2 * padding >= kernelHeight, width + 2 * padding >= kernelWidth else {
                throw TensorError.shapeMismatch(op: op, message: "kernel \(kernelHeight)x\(kernelWidth) is larger than the padded input \(height)x\(width) + 2x\(padding)")
            }
        }
        guard outHeight > 0, outWidth > 0 else {
            throw TensorError.shapeMismatch(op: op, message: "the output would be \(outHeight)x\(outWidth)")
        }
        hasBias = bias != nil
        precision = ComputePrecision.current
    }

    var key: String {
        "\(op)|\(batch),\(inChannels),\(height),\(width)|\(outChannels),\(kernelHeight),\(kernelWidth)|s\(stride)p\(padding)o\(outputPadding)|b\(hasBias)|l\(ConvolutionLayoutChoice.enabled)|\(precision.rawValue)"
    }
    var sourceShape: [Int] { [batch, inChannels, height, width] }
    var destinationShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    /// oneDNN's logical weight dimensions: `[out, in, kh, kw]` for both kinds.
    var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    var window: ConvolutionPass.Window {
        let (s, left, right) = (Int64(stride), Int64(padding), Int64(padding - outputPadding))
        return .init(strides: [s, s], paddingLeft: [left, left], paddingRight: [right, right])
    }
    /// A transposed convolution's PyTorch weight layout `[in, out, kh, kw]`.
    var inOutTag: dnnl_format_tag_t { dnnl_iohw }

    func forwardPrimitive() throws -> Primitive {
        try DNNL.primitive("\(key)|fwd", op: op) { try inPassPrecision { operand in try chooseLayouts(source: operand, destination: dnnl_f32) { layouts in
            try ConvolutionPass.forward(dnnl_forward_training).descriptor(
                transposed: transposed, op: op, source: layouts.source, weights: anyLayoutWeights(operand),
                bias: biasDescriptor, destination: layouts.destination, window: window)
        } } }
    }

    func backwardDataPrimitive(_ forward: Primitive) throws -> Primitive {
        try DNNL.primitive("\(key)|bwd_data", op: op) { try inPassPrecision { operand in try chooseLayouts(source: dnnl_f32, destination: operand) { layouts in
            try ConvolutionPass.backwardData.descriptor(
                transposed: transposed, op: op, source: layouts.source, weights: anyLayoutWeights(operand),
                destination: layouts.destination, window: window, hint: forward)
        } } }
    }

    func backwardWeightsPrimitive(_ forward: Primitive) throws -> Primitive {
        try DNNL.primitive("\(key)|bwd_weights", op: op) { try inPassPrecision { operand in try chooseLayouts(source: operand, destination: operand) { layouts in
            try ConvolutionPass.backwardWeights.descriptor(
                transposed: transposed, op: op, source: layouts.source, weights: anyLayoutWeights(),
                bias: biasDescriptor, destination: layouts.destination, window: window, hint: forward)
        } } }
    }

}

/// The layouts a convolution pass asks oneDNN for, on its source and destination side.
///
/// oneDNN's own choice (`format_tag_any`) blocks channels by 16 (AVX-512) or 8 (AVX2);
/// on a side with 1–7 channels that pads the tensor, and the work, up to the block: the
/// CIFAR-10 decoder's last transposed convolution (32 → 3 channels at 32×32) writes
/// `aBcd16b` and ran 1.7× slower than with a plain output. So when oneDNN's choice pads a
/// tensor of fewer than ``ConvolutionLayoutChoice/poorChannels`` channels, the pass is
/// created again with one of these requests, in the order ``candidates(inChannels:outChannels:kernelArea:)``
/// gives, and the first whose kernel pads nothing small (and is not a `ref:` kernel) wins.
///
/// The order is a fixed rule, measured per pass on both ISAs (AVX-512 and
/// `ONEDNN_MAX_CPU_ISA=AVX2` on an AMD EPYC Zen 5, one and two threads; README,
/// *Performance*), not a timing taken at run time: a timed choice would depend on the
/// machine's load and change the kernels, and so the rounding, from one run to the next.
/// - An image end (1–3 channels) against 8 or more, with a spatial kernel: the narrow side
///   plain (`abcd`), the other side `any`; oneDNN then runs its im2col + GEMM kernel, which
///   vectorises over pixels (CIFAR's 32 → 3 5×5 transposed forward, batch 128, one thread:
///   8.2 ms against 14.3 padded on AVX-512, 15.1 against 16.5 on AVX2; 3 → 32
///   backward-data: 8.1 against 14.7, 15.0 against 16.4; MNIST's 8 → 1 transposed forward:
///   0.69 against 2.32 and 0.76 against 1.40). Channels-last JIT kernels vectorise over
///   channels, and with 1–3 of them were no faster than the padded ones (15.9 ms there).
/// - Otherwise (4–7 channels, or both sides narrow: MNIST's 8 → 4, 2 → 4, 4 → 8):
///   channels-last (`acdb`) on both sides, which the JIT kernels take without padding
///   (4 → 8 transposed forward 0.16 ms against 0.62 padded and 1.47 plain).
/// - A 1×1 kernel with a wide side keeps oneDNN's padded choice: its blocked 1×1 kernels
///   are memory-bound, the padding costs less than reordering the wide side, and the
///   alternatives were slower on AVX-512 (`mvtec-resnet`'s 32 → 3 forward 3.4 ms plain, 5.1
///   channels-last, against 2.8 padded; backward-data 3.5 plain against 2.5).
/// Plain layouts on the wide side are never requested: a channels-last or plain request
/// there with `any` on the other side made oneDNN 2.6 fall back to its reference kernels
/// (50–300× slower).
enum ConvolutionLayoutChoice: CaseIterable {
    /// oneDNN's choice (`format_tag_any`) on both sides.
    case automatic
    /// The sides with fewer than ``poorChannels`` channels plain (`abcd`), the others `any`.
    case plainNarrowSide
    /// Channels-last (`acdb`) on both sides.
    case channelsLast

    /// Sides with fewer channels than this are channel-poor: oneDNN's smallest block is 8.
    static let poorChannels = 8
    /// A side with at least this many channels fills oneDNN's AVX-512 block.
    static let wideChannels = 16
    /// Image ends: grey (1) or colour (3) channels, or a few more.
    static let imageChannels = 3

    /// Whether channel-poor passes may ask for other layouts than oneDNN's choice; tests
    /// turn it off (for their own task only) to compare with the padded path. Part of the
    /// primitive-cache key.
    @TaskLocal static var enabled = true

    /// The requests to try, in order, for a convolution's channel counts and kernel area.
    static func candidates(inChannels: Int, outChannels: Int, kernelArea: Int) -> [ConvolutionLayoutChoice] {
        guard enabled, min(inChannels, outChannels) < poorChannels else { return [.automatic] }
        let (narrow, wide) = (min(inChannels, outChannels), max(inChannels, outChannels))
        if wide >= wideChannels && kernelArea == 1 { return [.automatic] }
        if narrow <= imageChannels && wide >= poorChannels { return [.automatic, .plainNarrowSide, .channelsLast] }
        return [.automatic, .channelsLast, .plainNarrowSide]
    }

    /// The memory descriptor this request gives a side of `shape` (`[N, C, H, W]`) holding
    /// `dataType` (float32, or bf16 for a bf16 pass's operands).
    func descriptor(_ shape: [Int], dataType: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        switch self {
        case .automatic: return MemoryDescriptor(shape: shape, tag: dnnl_format_tag_any, dataType: dataType).raw
        case .plainNarrowSide:
            return MemoryDescriptor(shape: shape, tag: shape[1] < Self.poorChannels ? dnnl_abcd : dnnl_format_tag_any, dataType: dataType).raw
        case .channelsLast: return MemoryDescriptor(shape: shape, tag: dnnl_acdb, dataType: dataType).raw
        }
    }

    /// Whether a created primitive descriptor is acceptable for a channel-poor pass: no
    /// activation (source, destination or their gradients) of fewer than ``poorChannels``
    /// channels is padded, and the kernel is not one of oneDNN's reference kernels. Weights
    /// may be padded: they are small, and the channels-last JIT kernels that block a
    /// narrow weight were still the fastest for narrow layers (MNIST's 4 → 8 transposed
    /// convolution: 0.16 ms forward, against 0.62 padded and 1.47 plain).
    static func isAcceptable(_ pd: dnnl_primitive_desc_t) -> Bool {
        var info: UnsafePointer<CChar>?
        if dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success, let info,
           String(cString: info).hasPrefix("ref") {
            return false
        }
        let queries = [dnnl_query_src_md, dnnl_query_diff_src_md, dnnl_query_dst_md, dnnl_query_diff_dst_md]
        return !queries.contains { query in
            guard let md = dnnl_primitive_desc_query_md(pd, query, 0)?.pointee, md.ndims > 0 else { return false }
            return MemoryDescriptor(raw: md).padsDimension(below: poorChannels)
        }
    }
}

extension ConvolutionGeometry {
    /// Creates a pass's primitive descriptor with oneDNN's layouts, or, for a channel-poor
    /// convolution where those pad a small tensor, with the first acceptable request of
    /// ``ConvolutionLayoutChoice/candidates(inChannels:outChannels:kernelArea:)``. Falls back
    /// to oneDNN's own choice when no request is acceptable. `source` and `destination` are
    /// the data types of the pass's tensors on those sides.
    func chooseLayouts(
        source sourceType: dnnl_data_type_t = dnnl_f32, destination destinationType: dnnl_data_type_t = dnnl_f32,
        _ make: (_ layouts: (source: dnnl_memory_desc_t, destination: dnnl_memory_desc_t)) throws -> dnnl_primitive_desc_t
    ) throws -> dnnl_primitive_desc_t {
        let candidates = ConvolutionLayoutChoice.candidates(
            inChannels: inChannels, outChannels: outChannels, kernelArea: kernelHeight * kernelWidth)
        var fallback: dnnl_primitive_desc_t?
        for choice in candidates {
            let pd: dnnl_primitive_desc_t
            let layouts = (choice.descriptor(sourceShape, dataType: sourceType), choice.descriptor(destinationShape, dataType: destinationType))
            if choice == .automatic {
                // oneDNN's own choice must exist: its errors are the op's errors.
                pd = try make(layouts)
            } else {
                guard let made = try? make(layouts) else { continue }
                pd = made
            }
            if candidates.count == 1 || ConvolutionLayoutChoice.isAcceptable(pd) {
                if let fallback { dnnl_primitive_desc_destroy(fallback) }
                return pd
            }
            if fallback == nil { fallback = pd } else { dnnl_primitive_desc_destroy(pd) }
        }
        guard let fallback else { throw TensorError.backend(op: op, message: "no convolution primitive descriptor") }
        return fallback
    }
}

/// Passes a pointer to `value` when it is present, nil otherwise.
func withOptionalPointer<T, R>(to value: T?, _ body: (UnsafePointer<T>?) throws -> R) rethrows -> R {
    guard var value else { return try body(nil) }
    return try withUnsafePointer(to: &value) { try body($0) }
}
