import CDNNL

/// One size per axis of a video volume: time (frames), height and width.
///
/// Video layers stride and pad the time axis differently from the spatial ones (a stride
/// of (1, 2, 2) halves a frame without dropping frames), so the 3-D ops take a size per
/// axis. An integer literal means the same size on all three axes, as PyTorch's `int`
/// arguments do; an array literal `[t, h, w]` spells out each.
public struct Size3D: Hashable, Sendable, ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, CustomStringConvertible {
    /// The size along the time (frame) axis.
    public var time: Int
    /// The size along the height axis.
    public var height: Int
    /// The size along the width axis.
    public var width: Int

    /// Sizes given per axis, in PyTorch's `(t, h, w)` order.
    public init(_ time: Int, _ height: Int, _ width: Int) {
        (self.time, self.height, self.width) = (time, height, width)
    }

    /// The same size on all three axes.
    public init(integerLiteral value: Int) { self.init(value, value, value) }

    /// `[t, h, w]`; any other number of elements is a programming error.
    public init(arrayLiteral elements: Int...) {
        precondition(elements.count == 3, "Size3D takes three sizes [t, h, w], got \(elements)")
        self.init(elements[0], elements[1], elements[2])
    }

    /// `[t, h, w]`, for loops over the axes.
    public var values: [Int] { [time, height, width] }

    /// `(t, h, w)`, as PyTorch prints a size triple.
    public var description: String { "(\(time), \(height), \(width))" }
}

/// 3-D convolution and transposed convolution on oneDNN, for video volumes `[N, C, T, H, W]`.
///
/// Activations are channels-last (`ndhwc`) on both sides of every pass, as PyTorch's
/// `channels_last_3d`; weights are left to oneDNN (`format_tag_any`) and stay in PyTorch's
/// layout (`[out, in, kt, kh, kw]`, or `[in, out, kt, kh, kw]` for transposed convolutions)
/// for optimisers and weight files. Why not oneDNN's own choice, as in 2-D: the video
/// network's widths are 1, 8, 16, 32 and 64, and oneDNN blocks channels by 16, so its
/// 8-channel blocks (the largest volumes, at full frame size) were padded to twice their
/// size, and it ran the backward-weights pass of those layers on plain layouts through
/// GEMM. Channels-last pads nothing, its JIT kernels take every pass, and the residual
/// sums, BatchNorm and LeakyReLU between convolutions stay in the same layout without
/// reorders: a `video-c3d` training step (batch 8, 1×16×64×64) went from 27 to about
/// 55 clips/s on a 2-vCPU AVX-512 EPYC (README, *Performance*). The geometry is written for
/// any number of spatial axes and could replace the 2-D one later. Under
/// ``ComputePrecision/run(in:_:)`` with bf16 every pass rounds its operands (source,
/// weights, output gradient) to bf16 and accumulates and writes float32, as the 2-D passes
/// do (``convolution2d(_:weight:bias:stride:padding:)``).
extension Tensor {
    /// Cross-correlation of `x` `[N, C, T, H, W]` with `weight` `[K, C, kt, kh, kw]`, plus `bias` `[K]`.
    ///
    /// - Parameters:
    ///   - stride: the step between kernel positions, per axis.
    ///   - padding: zeros added to both sides of each axis.
    ///   - causal: pad the time axis with `kt − 1` zero frames before the first frame and none
    ///     after, so that output frame `t` depends on input frames `t − kt + 1 … t` only (with
    ///     a time stride `s`, output frame `t` ends at input frame `s·t`). It is done by
    ///     oneDNN's asymmetric padding, at no cost. `padding.time` must then be 0.
    ///
    ///     Why padding rather than masking the kernel's future slice: all `kt` weights stay
    ///     live (a mask leaves weights that still take weight decay and must be re-masked
    ///     after every optimiser step), and nothing is copied. The padded form covers the
    ///     masked one: a masked 3-tap kernel `[w₀, w₁, 0]` with symmetric time padding 1
    ///     equals the causal kernel `[0, w₀, w₁]` here, so masked weights load by a shift.
    /// - Throws: ``TensorError`` for ranks, channel counts, sizes or paddings that do not fit.
    public static func convolution3d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil,
        stride: Size3D = 1, padding: Size3D = 0, causal: Bool = false
    ) throws -> Tensor {
        let op = causal ? "causal_conv3d" : "conv3d"
        if causal, padding.time != 0 {
            throw TensorError.invalidArgument(op: op, message: "a causal convolution pads the time axis itself (kt − 1 frames before, none after); time padding must be 0, got \(padding.time)")
        }
        let kernelTime = weight.rank == 5 ? weight.shape[2] : 1
        var left = padding.values, right = padding.values
        if causal { (left[0], right[0]) = (kernelTime - 1, 0) }
        return try convolution(x, weight: weight, bias: bias, call: SpatialConvolutionGeometry(
            op: op, input: x, weight: weight, bias: bias, transposed: false,
            stride: stride.values, paddingLeft: left, paddingRight: right, outputPadding: [0, 0, 0]))
    }

    /// Transposed 3-D convolution (the gradient of a convolution with respect to its input),
    /// with PyTorch's `ConvTranspose3d` weight layout `[C_in, C_out, kt, kh, kw]`.
    ///
    /// The output size per axis is `(in − 1)·stride − 2·padding + kernel + outputPadding`, as
    /// in PyTorch; `outputPadding` must be below the stride on each axis, and may exceed the
    /// padding (a 1×1×1 stride-2 shortcut has padding 0 and output padding 1).
    /// - Throws: ``TensorError`` for ranks, channel counts, sizes or paddings that do not fit.
    public static func convolutionTranspose3d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil,
        stride: Size3D = 1, padding: Size3D = 0, outputPadding: Size3D = 0
    ) throws -> Tensor {
        try convolution(x, weight: weight, bias: bias, call: SpatialConvolutionGeometry(
            op: "conv_transpose3d", input: x, weight: weight, bias: bias, transposed: true,
            stride: stride.values, paddingLeft: padding.values, paddingRight: padding.values,
            outputPadding: outputPadding.values))
    }
}

/// The sizes of one convolution call over any number of spatial axes (3 for video),
/// validated, with oneDNN's padding convention, and the oneDNN work for it.
private struct SpatialConvolutionGeometry: ConvolutionCall {
    let op: String
    let transposed: Bool
    let batch, inChannels, outChannels: Int
    /// Per spatial axis.
    let input, kernel, stride, output: [Int]
    /// oneDNN's paddings: zeros before and after each axis of the (forward) convolution's
    /// input. A transposed convolution's right padding is `padding − outputPadding`, which
    /// may be negative.
    let paddingLeft, paddingRight: [Int]
    let hasBias: Bool
    let precision: Precision

    var axes: Int { input.count }

    init(op: String, input x: Tensor, weight: Tensor, bias: Tensor?, transposed: Bool,
         stride: [Int], paddingLeft: [Int], paddingRight: [Int], outputPadding: [Int]) throws {
        let axes = stride.count
        try Validate.rank(x, axes + 2, op, "input [N, C, T, H, W]")
        try Validate.rank(weight, axes + 2, op, "weight")
        try Validate.nonEmptyBatch(x, op)
        for s in stride { try Validate.positive(s, "stride", op) }
        guard (paddingLeft + paddingRight + outputPadding).allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: op, message: "padding \(paddingLeft)/\(paddingRight) and output padding \(outputPadding) must be non-negative")
        }
        self.op = op
        self.transposed = transposed
        batch = x.shape[0]
        inChannels = x.shape[1]
        input = Array(x.shape.dropFirst(2))
        kernel = Array(weight.shape.dropFirst(2))
        let weightIn = transposed ? weight.shape[0] : weight.shape[1]
        outChannels = transposed ? weight.shape[1] : weight.shape[0]
        guard weightIn == inChannels else {
            throw TensorError.shapeMismatch(op: op, message: "input has \(inChannels) channels, weight \(weight.shape) expects \(weightIn)")
        }
        if let bias, bias.shape != [outChannels] {
            throw TensorError.shapeMismatch(op: op, message: "bias \(bias.shape), expected [\(outChannels)]")
        }
        self.stride = stride
        var output: [Int] = []
        var right = paddingRight
        for a in 0..<axes {
            if transposed {
                // PyTorch's rule (without dilation): output padding only picks among the sizes
                // a stride leaves open, whatever the padding.
                guard outputPadding[a] < stride[a] else {
                    throw TensorError.invalidArgument(op: op, message: "output padding \(outputPadding) must be below the stride \(stride) on each axis")
                }
                right[a] = paddingRight[a] - outputPadding[a]
                output.append((input[a] - 1) * stride[a] - paddingLeft[a] - paddingRight[a] + kernel[a] + outputPadding[a])
            } else {
                let padded = input[a] + paddingLeft[a] + paddingRight[a]
                guard padded >= kernel[a] else {
                    throw TensorError.shapeMismatch(op: op, message: "kernel \(kernel) is larger than the padded input \(input) (padding \(paddingLeft) before, \(paddingRight) after)")
                }
                output.append((padded - kernel[a]) / stride[a] + 1)
            }
        }
        guard output.allSatisfy({ $0 > 0 }) else {
            throw TensorError.shapeMismatch(op: op, message: "the output would be \(output)")
        }
        self.output = output
        self.paddingLeft = paddingLeft
        self.paddingRight = right
        hasBias = bias != nil
        precision = ComputePrecision.current
    }

    var key: String {
        "\(op)|\(batch),\(inChannels),\(input)|\(outChannels),\(kernel)|s\(stride)l\(paddingLeft)r\(paddingRight)|b\(hasBias)|\(precision.rawValue)"
    }
    var sourceShape: [Int] { [batch, inChannels] + input }
    var destinationShape: [Int] { [batch, outChannels] + output }
    /// oneDNN's logical weight dimensions: `[out, in, k...]` for both kinds.
    var weightShape: [Int] { [outChannels, inChannels] + kernel }
    var window: ConvolutionPass.Window {
        .init(strides: stride.map(Int64.init), paddingLeft: paddingLeft.map(Int64.init), paddingRight: paddingRight.map(Int64.init))
    }

    /// PyTorch's transposed-convolution weight `[in, out, k...]` as a oneDNN tag over the
    /// logical `[out, in, k...]` dimensions.
    var inOutTag: dnnl_format_tag_t {
        switch axes {
        case 1: return dnnl_bac
        case 2: return dnnl_iohw
        default: return dnnl_iodhw
        }
    }

    /// Channels-last (`ndhwc`), the layout requested on the source and destination sides.
    private func activation(_ shape: [Int], _ dataType: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        MemoryDescriptor(shape: shape, tag: axes == 3 ? dnnl_acdeb : (axes == 2 ? dnnl_acdb : dnnl_acb), dataType: dataType).raw
    }

    func forwardPrimitive() throws -> Primitive {
        try DNNL.primitive("\(key)|fwd", op: op) { try inPassPrecision { operand in
            try ConvolutionPass.forward(dnnl_forward_training).descriptor(
                transposed: transposed, op: op, source: activation(sourceShape, operand), weights: anyLayoutWeights(operand),
                bias: biasDescriptor, destination: activation(destinationShape), window: window)
        } }
    }

    func backwardDataPrimitive(_ forward: Primitive) throws -> Primitive {
        try DNNL.primitive("\(key)|bwd_data", op: op) { try inPassPrecision { operand in
            try ConvolutionPass.backwardData.descriptor(
                transposed: transposed, op: op, source: activation(sourceShape), weights: anyLayoutWeights(operand),
                destination: activation(destinationShape, operand), window: window, hint: forward)
        } }
    }

    func backwardWeightsPrimitive(_ forward: Primitive) throws -> Primitive {
        try DNNL.primitive("\(key)|bwd_weights", op: op) { try inPassPrecision { operand in
            try ConvolutionPass.backwardWeights.descriptor(
                transposed: transposed, op: op, source: activation(sourceShape, operand), weights: anyLayoutWeights(),
                bias: biasDescriptor, destination: activation(destinationShape, operand),
                window: window, hint: forward)
        } }
    }
}
