import CDNNL

/// Batch normalisation on oneDNN, in whatever layout its input arrives.
extension Tensor {
    /// Batch normalisation of `x` `[N, C, ...]` (rank 2 to 5: PyTorch's `BatchNorm1d`, `2d` and
    /// `3d`, the last for video `[N, C, T, H, W]`) over every axis but the channel axis.
    ///
    /// In training mode it normalises with the batch statistics and updates the running
    /// statistics in place, PyTorch-style: `running = (1 - momentum)·running + momentum·batch`,
    /// with the unbiased batch variance. In evaluation mode it uses the running statistics.
    /// - Parameters:
    ///   - scale: γ `[C]`, or nil together with `shift` for a non-affine normalisation.
    ///   - shift: β `[C]`.
    public static func batchNormalization(
        _ x: Tensor, scale: Tensor?, shift: Tensor?, runningMean: Tensor, runningVariance: Tensor,
        training: Bool, momentum: Float = 0.1, epsilon: Float = 1e-5
    ) throws -> Tensor {
        let op = "batch_norm"
        guard (2...5).contains(x.rank) else {
            throw TensorError.rankMismatch(op: op, expected: "input [N, C, ...] of rank 2 to 5", got: x.shape)
        }
        try Validate.nonEmptyBatch(x, op)
        let channels = x.shape[1]
        let valuesPerChannel = x.count / channels
        if training && valuesPerChannel < 2 {
            throw TensorError.invalidArgument(op: op, message: "training needs more than one value per channel, got input \(x.shape)")
        }
        guard (scale == nil) == (shift == nil) else {
            throw TensorError.invalidArgument(op: op, message: "give both scale and shift, or neither")
        }
        for (name, t) in [("scale", scale), ("shift", shift), ("running mean", runningMean), ("running variance", runningVariance)] {
            if let t, t.shape != [channels] {
                throw TensorError.shapeMismatch(op: op, message: "\(name) has shape \(t.shape), expected [\(channels)]")
            }
        }
        guard epsilon > 0 else { throw TensorError.invalidArgument(op: op, message: "epsilon must be positive, got \(epsilon)") }

        let affine = scale != nil
        var flags: UInt32 = affine ? (dnnl_use_scale.rawValue | dnnl_use_shift.rawValue) : 0
        if !training { flags |= dnnl_use_global_stats.rawValue }
        let dataMD = kernelView(of: x.memoryDescriptor)
        let key = "bn|\(dataMD.key)|f\(flags)|e\(epsilon)"
        let forward = try DNNL.primitive("\(key)|fwd", op: op) {
            var desc = dnnl_batch_normalization_desc_t()
            var md = dataMD.raw
            try DNNL.check(dnnl_batch_normalization_forward_desc_init(&desc, dnnl_forward_training, &md, epsilon, flags),
                           op, "batch normalisation forward descriptor")
            return try DNNL.makeDescriptor(&desc, op: op)
        }
        // Statistics used by this call; in eval mode a snapshot of the running ones.
        let mean = training ? Tensor(zeros: [channels]) : try runningMean.copy()
        let variance = training ? Tensor(zeros: [channels]) : try runningVariance.copy()
        let out = Tensor(uninitializedShape: x.shape, descriptor: x.descriptor)
        var args: [(Int32, Tensor, MemoryDescriptor)] = [
            (DNNL_ARG_SRC, x, dataMD), (DNNL_ARG_DST, out, dataMD),
            (DNNL_ARG_MEAN, mean, mean.memoryDescriptor),
            (DNNL_ARG_VARIANCE, variance, variance.memoryDescriptor),
        ]
        let scalePlain = try scale?.plain(), shiftPlain = try shift?.plain()
        if let scalePlain, let shiftPlain {
            args.append((DNNL_ARG_SCALE, scalePlain, scalePlain.memoryDescriptor))
            args.append((DNNL_ARG_SHIFT, shiftPlain, shiftPlain.memoryDescriptor))
        }
        try forward.execute(args, op: op)

        if training {
            let correction = Float(valuesPerChannel) / Float(valuesPerChannel - 1)
            let rm = runningMean.floatPointer, rv = runningVariance.floatPointer
            for c in 0..<channels {
                rm[c] = (1 - momentum) * rm[c] + momentum * mean.floatPointer[c]
                rv[c] = (1 - momentum) * rv[c] + momentum * variance.floatPointer[c] * correction
            }
        }

        let inputs = [x] + [scale, shift].compactMap { $0 }
        return record(out, name: op, inputs: inputs) { gradient in
            let backward = try DNNL.primitive("\(key)|bwd", op: op) {
                var desc = dnnl_batch_normalization_desc_t()
                var md = dataMD.raw, diffMD = dataMD.raw
                try DNNL.check(dnnl_batch_normalization_backward_desc_init(
                    &desc, affine ? dnnl_backward : dnnl_backward_data, &diffMD, &md, epsilon, flags),
                    op, "batch normalisation backward descriptor")
                return try DNNL.makeDescriptor(&desc, op: op, hint: forward)
            }
            let diffDst = try DNNL.reorder(gradient, to: x.memoryDescriptor)
            let diffSrc = Tensor(uninitializedShape: x.shape, descriptor: x.descriptor)
            let diffScale = Tensor(zeros: [channels]), diffShift = Tensor(zeros: [channels])
            var args: [(Int32, Tensor, MemoryDescriptor)] = [
                (DNNL_ARG_SRC, x, dataMD), (DNNL_ARG_DIFF_DST, diffDst, dataMD),
                (DNNL_ARG_MEAN, mean, mean.memoryDescriptor),
                (DNNL_ARG_VARIANCE, variance, variance.memoryDescriptor),
                (DNNL_ARG_DIFF_SRC, diffSrc, dataMD),
            ]
            if let scalePlain, let shiftPlain {
                // oneDNN 2.6 asks for the shift in the backward pass too, though it does not read it.
                args.append((DNNL_ARG_SCALE, scalePlain, scalePlain.memoryDescriptor))
                args.append((DNNL_ARG_SHIFT, shiftPlain, shiftPlain.memoryDescriptor))
                args.append((DNNL_ARG_DIFF_SCALE, diffScale, diffScale.memoryDescriptor))
                args.append((DNNL_ARG_DIFF_SHIFT, diffShift, diffShift.memoryDescriptor))
            }
            try backward.execute(args, op: op)
            return affine ? [diffSrc, diffScale, diffShift] : [diffSrc]
        }
    }

    /// The layout handed to oneDNN for a tensor in `layout`. A channels-last tensor of
    /// exactly 8 channels is byte for byte the 8-channel-blocked layout (`nCdhw8c` with one
    /// block), and oneDNN 2.6 normalises the blocked form with its plain JIT kernel but the
    /// channels-last one with a TBB-style kernel that was ~4× slower here (the video
    /// network's 8-channel blocks at 16×64×64); so such tensors are described as blocked,
    /// without a copy.
    private static func kernelView(of layout: MemoryDescriptor) -> MemoryDescriptor {
        let shape = layout.shape
        guard shape.count >= 4, shape[1] == 8 else { return layout }
        let (channelsLast, blocked) = shape.count == 4 ? (dnnl_acdb, dnnl_aBcd8b) : (dnnl_acdeb, dnnl_aBcde8b)
        guard layout == MemoryDescriptor(shape: shape, tag: channelsLast) else { return layout }
        return MemoryDescriptor(shape: shape, tag: blocked)
    }
}
