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
            return try maxPool2x2(x, block: block, outShape: outShape)
        }
        return try pool(x, op: op, algorithm: dnnl_pooling_max, outShape: outShape,
                        kernel: [kernelSize, kernelSize], stride: [stride, stride])
    }

    /// The channel block (8 or 16) when this tensor is in oneDNN's dense channel-blocked
    /// layout `aBcd8b`/`aBcd16b`, the layout convolutions and BatchNorm hand on.
    var channelBlock: Int? {
        guard rank == 4, let descriptor else { return nil }
        for (block, tag) in [(8, dnnl_aBcd8b), (16, dnnl_aBcd16b)] where descriptor == MemoryDescriptor(shape: shape, tag: tag) {
            return block
        }
        return nil
    }

    /// 2×2 max pooling with stride 2 on a channel-blocked layout. oneDNN 2.6's AVX2 kernel
    /// is 3× slower when it must also write the argmax workspace for training than without
    /// it; here each window is four contiguous channel vectors, so the maximum, its
    /// position and, backwards, the routing of the gradient are a few vector operations.
    /// Ties and NaNs go as in PyTorch: the first maximum in the window wins; NaN wins.
    private static func maxPool2x2(_ x: Tensor, block: Int, outShape: [Int]) throws -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        let tag = block == 8 ? dnnl_aBcd8b : dnnl_aBcd16b
        let outMD = MemoryDescriptor(shape: outShape, tag: tag)
        let out = Tensor(uninitializedShape: outShape, descriptor: outMD)
        let planes = x.shape[0] * ((x.shape[1] + block - 1) / block)
        let training = GradientMode.isEnabled && x.requiresGrad
        // The window position (0...3) of each output element's maximum. Four-lane vectors
    // throughout: wider ones are split element by element on the baseline x86-64 target.
        let argmax = training ? TensorStorage(byteCount: planes * oh * ow * block * MemoryLayout<Int32>.stride, zeroed: false) : nil
        withExtendedLifetime(x) {
            let src = x.floatPointer, dst = out.floatPointer
            let positions = argmax?.pointer.assumingMemoryBound(to: Int32.self)
            Threads.parallelFor(planes, minimumPerThread: 8) { range in
                for plane in range {
                    for i in 0..<oh {
                        let top = src + ((plane * h + 2 * i) * w) * block, bottom = top + w * block
                        let rowOut = ((plane * oh + i) * ow) * block
                        for j in 0..<ow {
                            for lane in stride(from: 0, to: block, by: 4) {
                                let left = 2 * j * block + lane, right = left + block
                                var best = load4(top + left), position = SIMD4<Int32>(repeating: 0)
                                consider(load4(top + right), 1, &best, &position)
                                consider(load4(bottom + left), 2, &best, &position)
                                consider(load4(bottom + right), 3, &best, &position)
                                let o = rowOut + j * block + lane
                                store4(best, dst + o)
                                if let positions {
                                    UnsafeMutableRawPointer(positions + o).storeBytes(of: position, as: SIMD4<Int32>.self)
                                }
                            }
                        }
                    }
                }
            }
        }
        guard let argmax else { return out }
        return record(out, name: "max_pool2d", inputs: [x]) { gradient in
            let upstream = try DNNL.reorder(gradient, to: outMD)
            let diffSrc = Tensor(uninitializedShape: x.shape, descriptor: x.descriptor)
            withExtendedLifetime((upstream, argmax)) {
                let dy = upstream.floatPointer, dx = diffSrc.floatPointer
                let positions = argmax.pointer.assumingMemoryBound(to: Int32.self)
                let zero = SIMD4<Float>(repeating: 0)
                Threads.parallelFor(planes, minimumPerThread: 8) { range in
                    for plane in range {
                        for i in 0..<oh {
                            let top = dx + ((plane * h + 2 * i) * w) * block, bottom = top + w * block
                            let rowOut = ((plane * oh + i) * ow) * block
                            for j in 0..<ow {
                                for lane in stride(from: 0, to: block, by: 4) {
                                    let o = rowOut + j * block + lane
                                    let g = load4(dy + o)
                                    let k = UnsafeRawPointer(positions + o).loadUnaligned(as: SIMD4<Int32>.self)
                                    let left = 2 * j * block + lane, right = left + block
                                    store4(zero.replacing(with: g, where: k .== 0), top + left)
                                    store4(zero.replacing(with: g, where: k .== 1), top + right)
                                    store4(zero.replacing(with: g, where: k .== 2), bottom + left)
                                    store4(zero.replacing(with: g, where: k .== 3), bottom + right)
                                }
                            }
                        }
                    }
                }
            }
            return [diffSrc]
        }
    }

    /// Nearest-neighbour ×2 upsampling on a channel-blocked layout: each input vector is
    /// written to its four output positions, and its gradient is the sum of theirs. A third
    /// of oneDNN's resampling time; its backward pass needs no pooling primitive.
    private static func upsample2x(_ x: Tensor, block: Int, outShape: [Int]) -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        let (oh, ow) = (outShape[2], outShape[3])
        let outMD = MemoryDescriptor(shape: outShape, tag: block == 8 ? dnnl_aBcd8b : dnnl_aBcd16b)
        let out = Tensor(uninitializedShape: outShape, descriptor: outMD)
        let planes = x.shape[0] * ((x.shape[1] + block - 1) / block)
        withExtendedLifetime(x) {
            let src = x.floatPointer, dst = out.floatPointer
            Threads.parallelFor(planes, minimumPerThread: 8) { range in
                for plane in range {
                    for i in 0..<h {
                        let top = dst + ((plane * oh + 2 * i) * ow) * block, bottom = top + ow * block
                        let row = src + ((plane * h + i) * w) * block
                        for j in 0..<w {
                            for lane in stride(from: 0, to: block, by: 4) {
                                let value = load4(row + j * block + lane)
                                let left = 2 * j * block + lane, right = left + block
                                store4(value, top + left)
                                store4(value, top + right)
                                store4(value, bottom + left)
                                store4(value, bottom + right)
                            }
                        }
                    }
                }
            }
        }
        return record(out, name: "upsample_nearest2d", inputs: [x]) { gradient in
            let upstream = try DNNL.reorder(gradient, to: outMD)
            let diffSrc = Tensor(uninitializedShape: x.shape, descriptor: x.descriptor)
            withExtendedLifetime(upstream) {
                let dy = upstream.floatPointer, dx = diffSrc.floatPointer
                Threads.parallelFor(planes, minimumPerThread: 8) { range in
                    for plane in range {
                        for i in 0..<h {
                            let top = dy + ((plane * oh + 2 * i) * ow) * block, bottom = top + ow * block
                            let row = dx + ((plane * h + i) * w) * block
                            for j in 0..<w {
                                for lane in stride(from: 0, to: block, by: 4) {
                                    let left = 2 * j * block + lane, right = left + block
                                    store4((load4(top + left) + load4(top + right)) + (load4(bottom + left) + load4(bottom + right)),
                                           row + j * block + lane)
                                }
                            }
                        }
                    }
                }
            }
            return [diffSrc]
        }
    }

    /// Takes `candidate` where it beats `best` (or is NaN), recording its window position.
    @inline(__always)
    private static func consider(_ candidate: SIMD4<Float>, _ index: Int32, _ best: inout SIMD4<Float>, _ position: inout SIMD4<Int32>) {
        let wins = (candidate .> best) .| (candidate .!= candidate)
        best.replace(with: candidate, where: wins)
        position.replace(with: index, where: wins)
    }

    @inline(__always)
    private static func load4(_ pointer: UnsafeMutablePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD4<Float>.self)
    }

    @inline(__always)
    private static func store4(_ value: SIMD4<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD4<Float>.self)
    }

    /// The mean over the spatial axes: `[N, C, H, W]` to `[N, C]`.
    public static func globalAveragePool2d(_ x: Tensor) throws -> Tensor {
        let op = "global_avg_pool2d"
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        try Validate.nonEmptyBatch(x, op)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let pooled = try pool(x, op: op, algorithm: dnnl_pooling_avg_exclude_padding, outShape: [n, c, 1, 1],
                              kernel: [h, w], stride: [h, w])
        return try pooled.reshaped(to: [n, c])
    }

    private static func pool(_ x: Tensor, op: String, algorithm: dnnl_alg_kind_t, outShape: [Int],
                             kernel: [Int], stride: [Int]) throws -> Tensor {
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
