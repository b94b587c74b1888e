import CDNNL

/// 2-D convolution and transposed convolution on oneDNN.
///
/// Every primitive is created with `format_tag_any`, so oneDNN picks its fastest
/// (blocked) layouts; activations stay in those layouts between oneDNN ops and are
/// reordered only when a consumer wants another one. Weights stay plain (`OIHW`, or
/// PyTorch's `[in, out, kh, kw]` for transposed convolutions) so that optimisers and
/// weight files see PyTorch's layout.
extension Tensor {
    /// Cross-correlation of `x` `[N, C, H, W]` with `weight` `[K, C, kh, kw]`, plus `bias` `[K]`.
    public static func convolution2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0
    ) throws -> Tensor {
        try convolution(x, weight: weight, bias: bias, geometry: ConvolutionGeometry(
            op: "conv2d", input: x, weight: weight, bias: bias, transposed: false,
            stride: stride, padding: padding, outputPadding: 0))
    }

    /// Transposed convolution (the gradient of a convolution with respect to its input),
    /// with PyTorch's `ConvTranspose2d` weight layout `[C_in, C_out, kh, kw]`.
    public static func convolutionTranspose2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, outputPadding: Int = 0
    ) throws -> Tensor {
        try convolution(x, weight: weight, bias: bias, geometry: ConvolutionGeometry(
            op: "conv_transpose2d", input: x, weight: weight, bias: bias, transposed: true,
            stride: stride, padding: padding, outputPadding: outputPadding))
    }

    private static func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, geometry g: ConvolutionGeometry) throws -> Tensor {
        let forward = try g.forwardPrimitive()
        let src = try DNNL.reorder(x, to: forward.descriptor(dnnl_query_src_md))
        let weights = try DNNL.reorder(g.weightView(weight), to: forward.descriptor(dnnl_query_weights_md))
        let out = try g.runForward(forward, source: src, weights: weights, bias: bias)
        return record(out, name: g.op, inputs: [x, weight] + (bias.map { [$0] } ?? [])) { gradient in
            try g.backward(gradient, input: x, source: src, weight: weight, weights: weights,
                           hasBias: bias != nil, forward: forward)
        }
    }
}

/// The sizes of one convolution call, validated, and the oneDNN work for it.
private struct ConvolutionGeometry {
    let op: String
    let transposed: Bool
    let batch, inChannels, height, width, outChannels, kernelHeight, kernelWidth: Int
    let stride, padding, outputPadding: Int
    let outHeight, outWidth: Int
    let hasBias: Bool

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
    }

    var key: String {
        "\(op)|\(batch),\(inChannels),\(height),\(width)|\(outChannels),\(kernelHeight),\(kernelWidth)|s\(stride)p\(padding)o\(outputPadding)|b\(hasBias)"
    }
    var sourceShape: [Int] { [batch, inChannels, height, width] }
    var destinationShape: [Int] { [batch, outChannels, outHeight, outWidth] }
    /// oneDNN's logical weight dimensions: `[out, in, kh, kw]` for both kinds.
    var weightShape: [Int] { [outChannels, inChannels, kernelHeight, kernelWidth] }
    var strides: [Int64] { [Int64(stride), Int64(stride)] }
    var paddingLeft: [Int64] { [Int64(padding), Int64(padding)] }
    var paddingRight: [Int64] { [Int64(padding - outputPadding), Int64(padding - outputPadding)] }

    /// The user's weight viewed with oneDNN's logical dimensions. A transposed
    /// convolution's PyTorch layout `[in, out, kh, kw]` is oneDNN's `iohw` tag.
    func weightView(_ weight: Tensor) throws -> Tensor {
        let plain = try weight.plain()
        guard transposed else { return plain }
        return Tensor(shape: weightShape, storage: plain.storage, offset: plain.offset,
                      descriptor: MemoryDescriptor(shape: weightShape, tag: dnnl_iohw))
    }

    private func any(_ shape: [Int]) -> dnnl_memory_desc_t { MemoryDescriptor(shape: shape, tag: dnnl_format_tag_any).raw }

    func forwardPrimitive() throws -> Primitive {
        try DNNL.primitive("\(key)|fwd", op: op) {
            var src = any(sourceShape), wei = any(weightShape), dst = any(destinationShape)
            let bias = hasBias ? MemoryDescriptor(plain: [outChannels]).raw : nil
            return try withOptionalPointer(to: bias) { biasPointer in
                if transposed {
                    var desc = dnnl_deconvolution_desc_t()
                    try DNNL.check(dnnl_deconvolution_forward_desc_init(
                        &desc, dnnl_forward_training, dnnl_deconvolution_direct, &src, &wei, biasPointer, &dst,
                        strides, paddingLeft, paddingRight), op, "deconvolution forward descriptor")
                    return try DNNL.makeDescriptor(&desc, op: op)
                }
                var desc = dnnl_convolution_desc_t()
                try DNNL.check(dnnl_convolution_forward_desc_init(
                    &desc, dnnl_forward_training, dnnl_convolution_direct, &src, &wei, biasPointer, &dst,
                    strides, paddingLeft, paddingRight), op, "convolution forward descriptor")
                return try DNNL.makeDescriptor(&desc, op: op)
            }
        }
    }

    func runForward(_ forward: Primitive, source: Tensor, weights: Tensor, bias: Tensor?) throws -> Tensor {
        let dstMD = forward.descriptor(dnnl_query_dst_md)
        let out = Tensor(uninitializedShape: destinationShape, descriptor: dstMD)
        var args: [(Int32, Tensor, MemoryDescriptor)] = [
            (DNNL_ARG_SRC, source, source.memoryDescriptor),
            (DNNL_ARG_WEIGHTS, weights, weights.memoryDescriptor),
            (DNNL_ARG_DST, out, dstMD),
        ]
        if let bias {
            let b = try bias.plain()
            args.append((DNNL_ARG_BIAS, b, b.memoryDescriptor))
        }
        try forward.execute(args, op: op)
        return out
    }

    func backward(_ gradient: Tensor, input: Tensor, source: Tensor, weight: Tensor, weights: Tensor,
                  hasBias: Bool, forward: Primitive) throws -> [Tensor?] {
        var result: [Tensor?] = [nil, nil]
        if input.requiresGrad {
            let primitive = try backwardDataPrimitive(forward)
            let diffDst = try DNNL.reorder(gradient, to: primitive.descriptor(dnnl_query_diff_dst_md))
            let w = try DNNL.reorder(weights, to: primitive.descriptor(dnnl_query_weights_md))
            let diffSrcMD = primitive.descriptor(dnnl_query_diff_src_md)
            let diffSrc = Tensor(uninitializedShape: sourceShape, descriptor: diffSrcMD)
            try primitive.execute([
                (DNNL_ARG_DIFF_DST, diffDst, diffDst.memoryDescriptor),
                (DNNL_ARG_WEIGHTS, w, w.memoryDescriptor),
                (DNNL_ARG_DIFF_SRC, diffSrc, diffSrcMD),
            ], op: op)
            result[0] = diffSrc
        }
        if weight.requiresGrad || hasBias {
            let primitive = try backwardWeightsPrimitive(forward)
            let diffDst = try DNNL.reorder(gradient, to: primitive.descriptor(dnnl_query_diff_dst_md))
            let src = try DNNL.reorder(source, to: primitive.descriptor(dnnl_query_src_md))
            let diffWeightsMD = primitive.descriptor(dnnl_query_diff_weights_md)
            let diffWeights = Tensor(uninitializedShape: weightShape, descriptor: diffWeightsMD)
            var args: [(Int32, Tensor, MemoryDescriptor)] = [
                (DNNL_ARG_DIFF_DST, diffDst, diffDst.memoryDescriptor),
                (DNNL_ARG_SRC, src, src.memoryDescriptor),
                (DNNL_ARG_DIFF_WEIGHTS, diffWeights, diffWeightsMD),
            ]
            let diffBias = Tensor(zeros: [outChannels])
            if hasBias { args.append((DNNL_ARG_DIFF_BIAS, diffBias, diffBias.memoryDescriptor)) }
            try primitive.execute(args, op: op)
            result[1] = try plainWeightGradient(diffWeights, like: weight)
            if hasBias { result.append(diffBias) }
        }
        return result
    }

    /// Reorders a weight gradient into the user's weight layout.
    private func plainWeightGradient(_ gradient: Tensor, like weight: Tensor) throws -> Tensor {
        guard transposed else { return try gradient.plain() }
        let iohw = try DNNL.reorder(gradient, to: MemoryDescriptor(shape: weightShape, tag: dnnl_iohw))
        return Tensor(shape: weight.shape, storage: iohw.storage)
    }

    private func backwardDataPrimitive(_ forward: Primitive) throws -> Primitive {
        try DNNL.primitive("\(key)|bwd_data", op: op) {
            var diffSrc = any(sourceShape), wei = any(weightShape), diffDst = any(destinationShape)
            if transposed {
                var desc = dnnl_deconvolution_desc_t()
                try DNNL.check(dnnl_deconvolution_backward_data_desc_init(
                    &desc, dnnl_deconvolution_direct, &diffSrc, &wei, &diffDst, strides, paddingLeft, paddingRight),
                    op, "deconvolution backward-data descriptor")
                return try DNNL.makeDescriptor(&desc, op: op, hint: forward)
            }
            var desc = dnnl_convolution_desc_t()
            try DNNL.check(dnnl_convolution_backward_data_desc_init(
                &desc, dnnl_convolution_direct, &diffSrc, &wei, &diffDst, strides, paddingLeft, paddingRight),
                op, "convolution backward-data descriptor")
            return try DNNL.makeDescriptor(&desc, op: op, hint: forward)
        }
    }

    private func backwardWeightsPrimitive(_ forward: Primitive) throws -> Primitive {
        try DNNL.primitive("\(key)|bwd_weights", op: op) {
            var src = any(sourceShape), diffWei = any(weightShape), diffDst = any(destinationShape)
            let diffBias = hasBias ? MemoryDescriptor(plain: [outChannels]).raw : nil
            return try withOptionalPointer(to: diffBias) { biasPointer in
                if transposed {
                    var desc = dnnl_deconvolution_desc_t()
                    try DNNL.check(dnnl_deconvolution_backward_weights_desc_init(
                        &desc, dnnl_deconvolution_direct, &src, &diffWei, biasPointer, &diffDst,
                        strides, paddingLeft, paddingRight), op, "deconvolution backward-weights descriptor")
                    return try DNNL.makeDescriptor(&desc, op: op, hint: forward)
                }
                var desc = dnnl_convolution_desc_t()
                try DNNL.check(dnnl_convolution_backward_weights_desc_init(
                    &desc, dnnl_convolution_direct, &src, &diffWei, biasPointer, &diffDst,
                    strides, paddingLeft, paddingRight), op, "convolution backward-weights descriptor")
                return try DNNL.makeDescriptor(&desc, op: op, hint: forward)
            }
        }
    }
}

/// Passes a pointer to `value` when it is present, nil otherwise.
func withOptionalPointer<T, R>(to value: T?, _ body: (UnsafePointer<T>?) throws -> R) rethrows -> R {
    guard var value else { return try body(nil) }
    return try withUnsafePointer(to: &value) { try body($0) }
}
