import CDNNL

/// Element-wise activations on oneDNN's eltwise primitive, in any layout.
extension Tensor {
    /// `max(0, x)`.
    public func relu() throws -> Tensor { try leakyRelu(slope: 0, name: "relu") }

    /// `x` where positive, `slope·x` elsewhere.
    public func leakyRelu(slope: Float = 0.01) throws -> Tensor { try leakyRelu(slope: slope, name: "leaky_relu") }

    /// The backward reads the output, whose sign is the input's for a slope ≥ 0, so the
    /// input need not be kept: a batch normalisation's output or a residual sum that only
    /// feeds this activation is freed after the forward pass (PyTorch's in-place LeakyReLU
    /// saves the same way).
    private func leakyRelu(slope: Float, name: String) throws -> Tensor {
        guard slope >= 0 else {
            throw TensorError.invalidArgument(op: name, message: "the slope must be at least 0, got \(slope)")
        }
        return try eltwise(dnnl_eltwise_relu_use_dst_for_bwd, alpha: slope, name: name, backwardReads: .output)
    }

    /// The logistic function `1 / (1 + e^{-x})`.
    public func sigmoid() throws -> Tensor {
        try eltwise(dnnl_eltwise_logistic_use_dst_for_bwd, alpha: 0, name: "sigmoid", backwardReads: .output)
    }

    /// The hyperbolic tangent.
    public func tanh() throws -> Tensor {
        try eltwise(dnnl_eltwise_tanh_use_dst_for_bwd, alpha: 0, name: "tanh", backwardReads: .output)
    }

    /// `alpha·x` in any layout (oneDNN's linear eltwise), with autograd.
    func scaled(by alpha: Float) throws -> Tensor {
        try eltwise(dnnl_eltwise_linear, alpha: alpha, name: "scale", backwardReads: .nothing)
    }

    /// What an eltwise backward pass reads besides the output gradient, and so what the
    /// graph keeps of the forward pass.
    private enum BackwardOperand {
        case input, output
        /// A constant derivative (the linear map): the gradient is scaled the same way.
        case nothing
    }

    private func eltwise(_ algorithm: dnnl_alg_kind_t, alpha: Float, name: String,
                         backwardReads operand: BackwardOperand = .input) throws -> Tensor {
        guard count > 0 else { return Tensor(zeros: shape) }
        guard rank <= 6 else { throw TensorError.rankMismatch(op: name, expected: "a tensor of rank at most 6", got: shape) }
        // oneDNN 2.6 has only a reference eltwise kernel for blocked layouts whose channels
        // are padded (3 channels in 8-blocks: the decoder's output), 15x slower than its JIT
        // kernel on the plain layout; the reorder to plain costs far less and the loss wants
        // plain data anyway.
        let source = rank == 0 ? try reshaped(to: [1]).detached() : (memoryDescriptor.isPadded ? try plain() : self)
        let dataMD = source.memoryDescriptor
        let key = "eltwise|\(algorithm.rawValue)|\(alpha)|\(dataMD.key)"
        let forward = try DNNL.primitive("\(key)|fwd", op: name) {
            var desc = dnnl_eltwise_desc_t()
            var md = dataMD.raw
            try DNNL.check(dnnl_eltwise_forward_desc_init(&desc, dnnl_forward_training, algorithm, &md, alpha, 0),
                           name, "eltwise forward descriptor")
            return try DNNL.makeDescriptor(&desc, op: name)
        }
        let out = Tensor(uninitializedShape: shape, descriptor: source.descriptor)
        try forward.execute([(DNNL_ARG_SRC, source, dataMD), (DNNL_ARG_DST, out, dataMD)], op: name)
        let outputShape = shape, layout = source.descriptor
        // Only what the backward reads is captured: the output or the input, not both.
        let saved: Tensor?
        switch operand {
        case .input: saved = source
        case .output: saved = out.detached()
        case .nothing: saved = nil
        }
        return Tensor.record(out, name: name, inputs: [self]) { gradient in
            let diffDst = try DNNL.reorder(gradient.rank == 0 ? gradient.reshaped(to: [1]) : gradient, to: dataMD)
            guard let saved else {
                let scaled = try withoutGradients { try diffDst.detached().eltwise(algorithm, alpha: alpha, name: name, backwardReads: operand) }
                return [outputShape.isEmpty ? try scaled.reshaped(to: outputShape) : scaled]
            }
            let backward = try DNNL.primitive("\(key)|bwd", op: name) {
                var desc = dnnl_eltwise_desc_t()
                var md = dataMD.raw, diffMD = dataMD.raw
                try DNNL.check(dnnl_eltwise_backward_desc_init(&desc, algorithm, &diffMD, &md, alpha, 0),
                               name, "eltwise backward descriptor")
                return try DNNL.makeDescriptor(&desc, op: name, hint: forward)
            }
            let diffSrc = Tensor(uninitializedShape: outputShape, descriptor: layout)
            try backward.execute([
                (operand == .output ? DNNL_ARG_DST : DNNL_ARG_SRC, saved, dataMD),
                (DNNL_ARG_DIFF_DST, diffDst, dataMD),
                (DNNL_ARG_DIFF_SRC, diffSrc, dataMD),
            ], op: name)
            return [diffSrc]
        }
    }
}
