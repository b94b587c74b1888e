import CDNNL

/// Max pooling, global average pooling and nearest-neighbour upsampling on oneDNN;
/// adaptive max pooling in Swift.
extension Tensor {
    /// Max pooling of `x` `[N, C, H, W]` with a square window; `stride` defaults to the window.
    public static func maxPool2d(_ x: Tensor, kernelSize: Int, stride: Int? = nil) throws -> Tensor {
        let op = "max_pool2d"
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        try Validate.nonEmptyBatch(x, op)
        try Validate.positive(kernelSize, "kernel size", op)
        let stride = stride ?? kernelSize
        try Validate.positive(stride, "stride", op)
        let (h, w) = (x.shape[2], x.shape[3])
        guard h >= kernelSize, w >= kernelSize else {
            throw TensorError.shapeMismatch(op: op, message: "window \(kernelSize) is larger than the input \(h)x\(w)")
        }
        let outShape = [x.shape[0], x.shape[1], (h - kernelSize) / stride + 1, (w - kernelSize) / stride + 1]
        if kernelSize == 2, stride == 2, h % 2 == 0, w % 2 == 0, let block = x.channelBlock {
            return maxPool2x2(x, block: block, outShape: outShape)
        }
        return try pool(x, op: op, algorithm: dnnl_pooling_max, outShape: outShape,
                        kernel: [kernelSize, kernelSize], stride: [stride, stride])
    }

    /// `leakyRelu(maxPool2d(x, kernelSize: 2))` as one op where `x` is in a channel-blocked
    /// layout with even height and width (what a convolution or BatchNorm hands on in
    /// training), otherwise the two ops. Same values and gradients either way: the leaky ReLU
    /// is applied to each maximum as it is stored, and its derivative to the gradient as it
    /// is routed back to the window's maximum, saving two passes over the pooled map.
    /// - Throws: the errors of ``maxPool2d(_:kernelSize:stride:)``, and
    ///   ``TensorError/invalidArgument(op:message:)`` for a negative slope.
    public static func maxPool2x2LeakyRelu(_ x: Tensor, slope: Float = 0.01) throws -> Tensor {
        guard slope >= 0 else {
            throw TensorError.invalidArgument(op: "max_pool2d_leaky_relu", message: "the slope must be at least 0, got \(slope)")
        }
        try Validate.rank(x, 4, "max_pool2d_leaky_relu", "input [N, C, H, W]")
        if x.shape[2] >= 2, x.shape[3] >= 2, x.shape[2] % 2 == 0, x.shape[3] % 2 == 0, let block = x.channelBlock {
            try Validate.nonEmptyBatch(x, "max_pool2d_leaky_relu")
            return maxPool2x2(x, block: block, outShape: [x.shape[0], x.shape[1], x.shape[2] / 2, x.shape[3] / 2], leakySlope: slope)
        }
        return try maxPool2d(x, kernelSize: 2).leakyRelu(slope: slope)
    }

    /// The mean over the spatial axes: `[N, C, H, W]` to `[N, C]`.
    public static func globalAveragePool2d(_ x: Tensor) throws -> Tensor {
        let op = "global_avg_pool2d"
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        try Validate.nonEmptyBatch(x, op)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let pooled = try pool(x, op: op, algorithm: dnnl_pooling_avg_exclude_padding, outShape: [n, c, 1, 1],
                              kernel: [h, w], stride: [h, w], recordingBackward: false)
        // The gradient, `g/(H·W)` everywhere, is handed back as its `[N, C]` values, to be
        // added where it meets the map's other gradient (``Gradient``).
        let (shape, descriptor) = (x.shape, x.descriptor)
        let mean = record(pooled, name: op, inputs: [x]) { gradient in
            [.spatiallyUniform(try SpatiallyUniformGradient(spreading: gradient, dividedBy: h * w, over: shape, descriptor: descriptor))]
        }
        return try mean.reshaped(to: [n, c])
    }

    /// Runs oneDNN's pooling forward, and records its backward unless `recordingBackward`
    /// is false (the caller records its own).
    private static func pool(_ x: Tensor, op: String, algorithm: dnnl_alg_kind_t, outShape: [Int],
                             kernel: [Int], stride: [Int], recordingBackward: Bool = true) throws -> Tensor {
        let srcMD = x.memoryDescriptor
        let training = GradientMode.isEnabled && x.requiresGrad
        let dims = { (values: [Int]) in values.map(Int64.init) }
        let key = "\(op)|\(srcMD.key)|k\(kernel)s\(stride)|t\(training)"
        let forward = try DNNL.primitive("\(key)|fwd", op: op) {
            var desc = dnnl_pooling_v2_desc_t()
            var src = srcMD.raw, dst = MemoryDescriptor(shape: outShape, tag: dnnl_format_tag_any).raw
            try DNNL.check(dnnl_pooling_v2_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, algorithm, &src, &dst,
                dims(stride), dims(kernel), [0, 0], [0, 0], [0, 0]), op, "pooling forward descriptor")
            return try DNNL.makeDescriptor(&desc, op: op)
        }
        let dstMD = forward.descriptor(dnnl_query_dst_md)
        let out = Tensor(uninitializedShape: outShape, descriptor: dstMD)
        var args: [(Int32, Tensor, MemoryDescriptor)] = [
            (DNNL_ARG_SRC, x, srcMD), (DNNL_ARG_DST, out, dstMD),
        ]
        // Max pooling's argmax indices, opaque bytes held in a tensor for their lifetime.
        let workspace = forward.workspace.map { Tensor(shape: [$0.byteCount], storage: TensorStorage(byteCount: $0.byteCount, zeroed: false)) }
        if let workspace, let md = forward.workspace { args.append((DNNL_ARG_WORKSPACE, workspace, md)) }
        try forward.execute(args, op: op)
        guard recordingBackward else { return out }
        return record(out, name: op, inputs: [x]) { gradient in
            let backward = try DNNL.primitive("\(key)|bwd", op: op) {
                var desc = dnnl_pooling_v2_desc_t()
                // The gradient arrives in the forward output's layout: ask for that one.
                var diffSrc = srcMD.raw, diffDst = dstMD.raw
                try DNNL.check(dnnl_pooling_v2_backward_desc_init(
                    &desc, algorithm, &diffSrc, &diffDst, dims(stride), dims(kernel), [0, 0], [0, 0], [0, 0]),
                    op, "pooling backward descriptor")
                return try DNNL.makeDescriptor(&desc, op: op, hint: forward)
            }
            let diffDst = try DNNL.reorder(gradient, to: backward.descriptor(dnnl_query_diff_dst_md))
            let diffSrc = Tensor(uninitializedShape: x.shape, descriptor: x.descriptor)
            var args: [(Int32, Tensor, MemoryDescriptor)] = [
                (DNNL_ARG_DIFF_DST, diffDst, diffDst.memoryDescriptor),
                (DNNL_ARG_DIFF_SRC, diffSrc, srcMD),
            ]
            if let workspace, let md = forward.workspace { args.append((DNNL_ARG_WORKSPACE, workspace, md)) }
            try backward.execute(args, op: op)
            return [diffSrc]
        }
    }

    /// Nearest-neighbour upsampling of `x` `[N, C, H, W]` by an integer `factor` (PyTorch's
    /// `interpolate(scale_factor:, mode: "nearest")`).
    public static func upsampleNearest2d(_ x: Tensor, factor: Int = 2) throws -> Tensor {
        let op = "upsample_nearest2d"
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        try Validate.nonEmptyBatch(x, op)
        try Validate.positive(factor, "factor", op)
        let srcMD = x.memoryDescriptor
        let outShape = [x.shape[0], x.shape[1], x.shape[2] * factor, x.shape[3] * factor]
        if factor == 2, let block = x.channelBlock { return upsample2x(x, block: block, outShape: outShape) }
        let factors: [Float] = [Float(factor), Float(factor)]
        let key = "\(op)|\(srcMD.key)|f\(factor)"
        let forward = try DNNL.primitive("\(key)|fwd", op: op) {
            var desc = dnnl_resampling_desc_t()
            var src = srcMD.raw, dst = MemoryDescriptor(shape: outShape, tag: dnnl_format_tag_any).raw
            try DNNL.check(dnnl_resampling_forward_desc_init(&desc, dnnl_forward_training, dnnl_resampling_nearest,
                                                             factors, &src, &dst), op, "resampling forward descriptor")
            return try DNNL.makeDescriptor(&desc, op: op)
        }
        let dstMD = forward.descriptor(dnnl_query_dst_md)
        let out = Tensor(uninitializedShape: outShape, descriptor: dstMD)
        try forward.execute([(DNNL_ARG_SRC, x, srcMD), (DNNL_ARG_DST, out, dstMD)], op: op)
        return record(out, name: op, inputs: [x]) { gradient in
            // Each input pixel fed factor² output pixels, so its gradient is their sum:
            // factor² times an average pooling. oneDNN 2.6 has only a reference kernel for
            // resampling's backward pass; its average pooling is JIT-compiled.
            let summed = try withoutGradients {
                try pool(gradient.detached(), op: "\(op) backward", algorithm: dnnl_pooling_avg_exclude_padding,
                         outShape: x.shape, kernel: [factor, factor], stride: [factor, factor])
                    .scaled(by: Float(factor * factor))
            }
            return [summed]
        }
    }

    /// Adaptive max pooling of `x` `[N, C, H, W]` to `[N, C, outHeight, outWidth]`, with
    /// PyTorch's bins: output cell `i` covers input rows `⌊i·H/oh⌋ ..< ⌈(i+1)·H/oh⌉`.
    public static func adaptiveMaxPool2d(_ x: Tensor, outputSize: (height: Int, width: Int)) throws -> Tensor {
        let op = "adaptive_max_pool2d"
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        try Validate.nonEmptyBatch(x, op)
        let (oh, ow) = outputSize
        try Validate.positive(oh, "output height", op)
        try Validate.positive(ow, "output width", op)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let source = try x.plain()
        let out = Tensor(zeros: [n, c, oh, ow])
        var argmax = [Int](repeating: 0, count: out.count)
        defer { withExtendedLifetime(source) {} }
        let src = source.floatPointer, dst = out.floatPointer
        for plane in 0..<(n * c) {
            let base = plane * h * w
            for i in 0..<oh {
                let (r0, r1) = (i * h / oh, ((i + 1) * h + oh - 1) / oh)
                for j in 0..<ow {
                    let (c0, c1) = (j * w / ow, ((j + 1) * w + ow - 1) / ow)
                    var best = base + r0 * w + c0
                    for r in r0..<r1 {
                        for col in c0..<c1 where src[base + r * w + col] > src[best] || src[base + r * w + col].isNaN {
                            best = base + r * w + col
                        }
                    }
                    let o = (plane * oh + i) * ow + j
                    dst[o] = src[best]
                    argmax[o] = best
                }
            }
        }
        return record(out, name: op, inputs: [x]) { gradient in
            let g = try gradient.plain()
            defer { withExtendedLifetime(g) {} }
            let gx = Tensor(zeros: x.shape)
            for o in 0..<argmax.count { gx.floatPointer[argmax[o]] += g.floatPointer[o] }
            return [gx]
        }
    }
}
