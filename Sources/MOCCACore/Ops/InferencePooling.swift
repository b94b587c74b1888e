import CDNNL
import CKernels

/// Max pooling with a per-channel affine map and a leaky ReLU applied to its output, for
/// inference.
///
/// An evaluation-mode BatchNorm is a per-channel map `(x − mean)·scale + shift`; with a
/// positive scale it is increasing, so it commutes with max pooling exactly (each rounding
/// step is monotone too), as the leaky ReLU does. Applied in the pool's own pass it touches
/// a quarter of the values. This is what is left to fuse where a convolution's raw output
/// must be kept (a network's tap reads it), so that the BatchNorm cannot be folded into the
/// convolution. A 2×2 window on a channel-blocked map runs as C loops (`CKernels`); other
/// cases as oneDNN's pooling with the affine map and activation as post-ops, the same
/// operations in the same order. Where a window holds a NaN, the C loops return NaN, as the
/// training pool and PyTorch do; oneDNN's pooling drops it.
extension Tensor {
    /// `leakyRelu((maxPool2d(x) − center[c])·scale[c] + shift[c])`, per channel `c`, for `x`
    /// `[N, C, H, W]` and a square window with a stride of the window.
    ///
    /// Inference only: no autograd record.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` when gradients would be
    ///   recorded, ``TensorError/shapeMismatch(op:message:)`` for arrays that are not `C`
    ///   long, and the errors of ``maxPool2d(_:kernelSize:stride:)``.
    public static func maxPool2dChannelAffineLeakyRelu(
        _ x: Tensor, kernelSize: Int, center: [Float], scale: [Float], shift: [Float], slope: Float
    ) throws -> Tensor {
        let op = "max_pool2d_affine_leaky_relu"
        if GradientMode.isEnabled, x.requiresGrad {
            throw TensorError.invalidArgument(op: op, message: "the fused pooling has no backward pass; run it inside withoutGradients")
        }
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        try Validate.nonEmptyBatch(x, op)
        try Validate.positive(kernelSize, "kernel size", op)
        let (n, channels, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        guard center.count == channels, scale.count == channels, shift.count == channels else {
            throw TensorError.shapeMismatch(op: op, message: "\(center.count) centers, \(scale.count) scales and \(shift.count) shifts for \(channels) channels")
        }
        guard h >= kernelSize, w >= kernelSize else {
            throw TensorError.shapeMismatch(op: op, message: "window \(kernelSize) is larger than the input \(h)x\(w)")
        }
        let outShape = [n, channels, (h - kernelSize) / kernelSize + 1, (w - kernelSize) / kernelSize + 1]
        // BatchNorm's own order of operations: subtract the centre, scale, then shift (left
        // out when it is zero, as for a BatchNorm without β).
        let hasShift = shift.contains { $0 != 0 }
        if kernelSize == 2, h % 2 == 0, w % 2 == 0, let block = x.channelBlock {
            return pooledAffineLeakyRelu(x, block: block, outShape: outShape, center: center, scale: scale,
                                         shift: hasShift ? shift : nil, slope: slope)
        }
        let operands = [(dnnl_binary_add, center.map { -$0 }), (dnnl_binary_mul, scale)] + (hasShift ? [(dnnl_binary_add, shift)] : [])
        let channelMD = MemoryDescriptor(plain: [1, channels, 1, 1])
        let srcMD = x.memoryDescriptor
        let kernel = [Int64(kernelSize), Int64(kernelSize)]
        let forward = try DNNL.primitive("\(op)|\(srcMD.key)|k\(kernelSize)|s\(hasShift)|a\(slope)", op: op) {
            var desc = dnnl_pooling_v2_desc_t()
            var src = srcMD.raw, dst = MemoryDescriptor(shape: outShape, tag: dnnl_format_tag_any).raw
            try DNNL.check(dnnl_pooling_v2_forward_desc_init(
                &desc, dnnl_forward_inference, dnnl_pooling_max, &src, &dst, kernel, kernel, [0, 0], [0, 0], [0, 0]),
                op, "pooling forward descriptor")
            return try DNNL.makeDescriptor(&desc, op: op) { attributes in
                try DNNL.withPostOps(op, attributes) { postOps in
                    var md = channelMD.raw
                    for (algorithm, _) in operands {
                        try DNNL.check(dnnl_post_ops_append_binary(postOps, algorithm, &md), op, "dnnl_post_ops_append_binary")
                    }
                    try DNNL.check(dnnl_post_ops_append_eltwise(postOps, 1, dnnl_eltwise_relu, slope, 0), op, "dnnl_post_ops_append_eltwise")
                }
            }
        }
        let dstMD = forward.descriptor(dnnl_query_dst_md)
        let out = Tensor(uninitializedShape: outShape, descriptor: dstMD)
        var args: [(Int32, Tensor, MemoryDescriptor)] = [(DNNL_ARG_SRC, x, srcMD), (DNNL_ARG_DST, out, dstMD)]
        for (index, (_, values)) in operands.enumerated() {
            // oneDNN's DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1, a C macro.
            let argument = DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE * Int32(index + 1) | DNNL_ARG_SRC_1
            args.append((argument, try Tensor(shape: [1, channels, 1, 1], scalars: values), channelMD))
        }
        try forward.execute(args, op: op)
        return out
    }

    /// The 2×2 case on a channel-blocked map, in C (`CKernels`): the same operations in the
    /// same order as oneDNN's pooling with these post-ops. On the CIFAR-10 encoder's first
    /// block (batch 256, one thread) it took 2.5 ms with AVX-512 and 4.0 ms with AVX2, where
    /// oneDNN's took 3.4–6.3 and 6.0–7.8 ms (`ONEDNN_VERBOSE`).
    private static func pooledAffineLeakyRelu(_ x: Tensor, block: Int, outShape: [Int], center: [Float], scale: [Float],
                                              shift: [Float]?, slope: Float) -> Tensor {
        let windows = BlockedWindows(fineShape: x.shape, coarseShape: outShape, block: block)
        let out = Tensor(uninitializedShape: outShape, descriptor: windows.coarseDescriptor)
        let blocks = windows.planes / x.shape[0]
        // Per channel, padded to whole blocks with zeros.
        func padded(_ values: [Float]) -> [Float] { values + [Float](repeating: 0, count: blocks * block - values.count) }
        let (height, width) = (outShape[2], outShape[3])
        withExtendedLifetime(x) {
            let src = x.floatPointer, dst = out.floatPointer
            padded(center).withUnsafeBufferPointer { center in
                padded(scale).withUnsafeBufferPointer { scale in
                    shift.map(padded).withUnsafeOptionalBufferPointer { shift in
                        Threads.parallelFor(windows.planes, minimumPerThread: 8) { planes in
                            mocca_max_pool_2x2_affine_leaky(ComputeHost.kernelISA, src, dst, planes.lowerBound, planes.count, height, width,
                                                            block, blocks, center.baseAddress, scale.baseAddress, shift, slope)
                        }
                    }
                }
            }
        }
        return out
    }
}

private extension Optional where Wrapped == [Float] {
    /// The array's base address, or nil, for a C parameter that may be NULL.
    func withUnsafeOptionalBufferPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        guard let self else { return body(nil) }
        return self.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}
