import CDNNL

/// One of a convolution's three oneDNN passes, for any number of spatial axes: the 2-D
/// and 3-D ops describe their passes through it, so that a convolution and a transposed
/// one (oneDNN's deconvolution) are told apart in one place.
enum ConvolutionPass {
    /// The forward pass, for training (its result feeds the backward passes) or inference.
    case forward(dnnl_prop_kind_t)
    case backwardData
    case backwardWeights

    /// The sizes a pass is created with: oneDNN's strides and paddings (before and after)
    /// per spatial axis.
    struct Window {
        let strides: [Int64]
        let paddingLeft: [Int64]
        let paddingRight: [Int64]
    }

    /// Creates this pass's primitive descriptor.
    /// - Parameters:
    ///   - source: the source (forward and backward-weights) or its gradient (backward-data).
    ///   - weights: the weights, or their gradient (backward-weights).
    ///   - bias: the bias or its gradient; nil for none, and always for backward-data.
    ///   - destination: the destination (forward) or its gradient (backward passes).
    ///   - hint: the forward pass, for the backward ones.
    ///   - configure: sets attributes (post-ops) before creation.
    func descriptor(
        transposed: Bool, op: String, source: dnnl_memory_desc_t, weights: dnnl_memory_desc_t,
        bias: dnnl_memory_desc_t? = nil, destination: dnnl_memory_desc_t, window: Window,
        hint: Primitive? = nil, configure: ((dnnl_primitive_attr_t) throws -> Void)? = nil
    ) throws -> dnnl_primitive_desc_t {
        var (src, wei, dst) = (source, weights, destination)
        let (strides, left, right) = (window.strides, window.paddingLeft, window.paddingRight)
        return try withOptionalPointer(to: bias) { biasPointer in
            if transposed {
                var desc = dnnl_deconvolution_desc_t()
                let status: dnnl_status_t
                switch self {
                case .forward(let kind):
                    status = dnnl_deconvolution_forward_desc_init(&desc, kind, dnnl_deconvolution_direct, &src, &wei, biasPointer, &dst, strides, left, right)
                case .backwardData:
                    status = dnnl_deconvolution_backward_data_desc_init(&desc, dnnl_deconvolution_direct, &src, &wei, &dst, strides, left, right)
                case .backwardWeights:
                    status = dnnl_deconvolution_backward_weights_desc_init(&desc, dnnl_deconvolution_direct, &src, &wei, biasPointer, &dst, strides, left, right)
                }
                try DNNL.check(status, op, "deconvolution \(name) descriptor")
                return try DNNL.makeDescriptor(&desc, op: op, hint: hint, configure: configure)
            }
            var desc = dnnl_convolution_desc_t()
            let status: dnnl_status_t
            switch self {
            case .forward(let kind):
                status = dnnl_convolution_forward_desc_init(&desc, kind, dnnl_convolution_direct, &src, &wei, biasPointer, &dst, strides, left, right)
            case .backwardData:
                status = dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &src, &wei, &dst, strides, left, right)
            case .backwardWeights:
                status = dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct, &src, &wei, biasPointer, &dst, strides, left, right)
            }
            try DNNL.check(status, op, "convolution \(name) descriptor")
            return try DNNL.makeDescriptor(&desc, op: op, hint: hint, configure: configure)
        }
    }

    /// Whether oneDNN runs a descriptor on its gemm-based or reference convolution rather
    /// than a JIT (direct or brgemm) kernel.
    static func isGenericKernel(_ pd: dnnl_primitive_desc_t) -> Bool {
        var info: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &info) == dnnl_success, let info else { return false }
        let name = String(cString: info)
        return name.hasPrefix("ref") || name.contains("gemm:")
    }

    /// The pass's name in error messages.
    private var name: String {
        switch self {
        case .forward(let kind): return kind == dnnl_forward_inference ? "inference" : "forward"
        case .backwardData: return "backward-data"
        case .backwardWeights: return "backward-weights"
        }
    }
}

/// One convolution call over any number of spatial axes (``ConvolutionGeometry`` in 2-D,
/// `SpatialConvolutionGeometry` in 3-D): its sizes and the primitives of its passes. What
/// runs the passes is shared: the forward run, the backward passes, and the weight
/// layouts between PyTorch's and oneDNN's.
protocol ConvolutionCall {
    var op: String { get }
    var transposed: Bool { get }
    var hasBias: Bool { get }
    var outChannels: Int { get }
    var sourceShape: [Int] { get }
    var destinationShape: [Int] { get }
    /// oneDNN's logical weight dimensions: `[out, in, k...]` for both kinds.
    var weightShape: [Int] { get }
    /// A transposed convolution's PyTorch weight layout `[in, out, k...]`, as a oneDNN tag
    /// over the logical dimensions.
    var inOutTag: dnnl_format_tag_t { get }
    /// The operands' precision, taken from ``ComputePrecision`` when the op is called, so
    /// that the backward passes run as the forward pass did wherever they are started.
    var precision: Precision { get }
    func forwardPrimitive() throws -> Primitive
    func backwardDataPrimitive(_ forward: Primitive) throws -> Primitive
    func backwardWeightsPrimitive(_ forward: Primitive) throws -> Primitive
}

extension ConvolutionCall {
    /// The weights (or their gradient) in `dataType`, in the layout oneDNN chooses.
    func anyLayoutWeights(_ dataType: dnnl_data_type_t = dnnl_f32) -> dnnl_memory_desc_t {
        MemoryDescriptor(shape: weightShape, tag: dnnl_format_tag_any, dataType: dataType).raw
    }

    /// The plain bias `[K]` (or its gradient) of a call with a bias; nil without one.
    var biasDescriptor: dnnl_memory_desc_t? { hasBias ? MemoryDescriptor(plain: [outChannels]).raw : nil }

    /// oneDNN's type for the operands: the source, the weights and the output gradient.
    /// Results (destination, input and weight gradients) are always float32.
    var operandType: dnnl_data_type_t { precision == .bf16 ? dnnl_bf16 : dnnl_f32 }

    /// Creates a pass's primitive descriptor with `make`, given the operands' data type: the
    /// call's, except where bf16 would be slower than float32.
    ///
    /// In bf16, a pass that oneDNN 2.6 can only run on its gemm-based kernel (im2col and a
    /// bf16 GEMM) or a reference kernel, while float32 gets a JIT kernel, is created in
    /// float32 instead. That happens on channel-poor backward passes, whose bf16 JIT
    /// kernels take neither the plain nor the channels-last narrow side: in the
    /// Fashion-MNIST demo's network (one thread, totals of a 3-epoch run), the 8 → 4
    /// convolution's backward passes took 56 ms on the bf16 gemm kernel against 19 in float32
    /// JIT, the 4 → 8 transposed one's 103 against 17, the 1 → 8 one's 56 against 7. Where
    /// float32 also runs gemm, bf16 stays (the 8 → 1 transposed forward: 33 ms against 112).
    /// The choice is fixed by the kernels oneDNN offers, not timed, like the layouts'.
    func inPassPrecision(_ make: (_ operandType: dnnl_data_type_t) throws -> dnnl_primitive_desc_t) throws -> dnnl_primitive_desc_t {
        let pd = try make(operandType)
        guard operandType == dnnl_bf16, ConvolutionPass.isGenericKernel(pd) else { return pd }
        guard let float32 = try? make(dnnl_f32) else { return pd }
        if ConvolutionPass.isGenericKernel(float32) {
            dnnl_primitive_desc_destroy(float32)
            return pd
        }
        dnnl_primitive_desc_destroy(pd)
        return float32
    }

    /// The user's weight viewed with oneDNN's logical dimensions (a transposed
    /// convolution's through ``inOutTag``).
    func weightView(_ weight: Tensor) throws -> Tensor {
        let plain = try weight.plain()
        guard transposed else { return plain }
        return Tensor(shape: weightShape, storage: plain.storage, offset: plain.offset,
                      descriptor: MemoryDescriptor(shape: weightShape, tag: inOutTag))
    }

    /// Runs the forward primitive on operands already in its layouts; the output is in the
    /// primitive's destination layout.
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

    /// The input, weight and (with a bias) bias gradients of one call, from the output
    /// gradient: the backward-data pass where the input wants one, the backward-weights
    /// pass where the weight or bias does.
    /// - Parameters:
    ///   - source: the input as the forward pass read it (reordered, or rounded to bf16).
    ///   - weights: the weights as the forward pass read them.
    func backward(_ gradient: Tensor, input: Tensor, source: Tensor, weight: Tensor, weights: Tensor,
                  forward: Primitive) throws -> [Tensor?] {
        var result: [Tensor?] = [nil, nil]
        // The output gradient in the layout (and, in bf16, the rounding) a pass wants,
        // converted once when both passes want the same.
        var converted: Tensor?
        func outputGradient(_ wanted: MemoryDescriptor) throws -> Tensor {
            if let converted, converted.memoryDescriptor == wanted { return converted }
            let made = try DNNL.reorder(gradient, to: wanted)
            converted = made
            return made
        }
        if input.requiresGrad {
            let primitive = try backwardDataPrimitive(forward)
            let diffDst = try outputGradient(primitive.descriptor(dnnl_query_diff_dst_md))
            let w = try Self.copy(of: weightView(weight), among: [weights], as: primitive.descriptor(dnnl_query_weights_md))
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
            let diffDst = try outputGradient(primitive.descriptor(dnnl_query_diff_dst_md))
            // The forward pass may have reordered the input (to a plain layout, for a
            // channel-poor end, or to bf16): take the copy that needs least work.
            let src = try Self.copy(of: input, among: [source, input], as: primitive.descriptor(dnnl_query_src_md))
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

    /// `original`'s values in layout `wanted`: the first of `copies` (the same values in other
    /// layouts, or rounded to bf16) that already has it, else a reorder of the first copy of
    /// `wanted`'s data type, else of `original`. A bf16 copy is never widened back to
    /// float32 (its rounding would stay); rounding `original` again gives the same bf16 values.
    static func copy(of original: Tensor, among copies: [Tensor], as wanted: MemoryDescriptor) throws -> Tensor {
        if let ready = copies.first(where: { $0.memoryDescriptor == wanted }) { return ready }
        let sameType = copies.first { $0.memoryDescriptor.dataType == wanted.dataType }
        return try DNNL.reorder(sameType ?? original, to: wanted)
    }

    /// Reorders a weight gradient into the user's weight layout.
    private func plainWeightGradient(_ gradient: Tensor, like weight: Tensor) throws -> Tensor {
        guard transposed else { return try gradient.plain() }
        let inOut = try DNNL.reorder(gradient, to: MemoryDescriptor(shape: weightShape, tag: inOutTag))
        return Tensor(shape: weight.shape, storage: inOut.storage)
    }
}

extension Tensor {
    /// Runs a convolution call's forward pass on `x` and records its backward passes.
    static func convolution(_ x: Tensor, weight: Tensor, bias: Tensor?, call g: some ConvolutionCall) throws -> Tensor {
        let forward = try g.forwardPrimitive()
        // In bf16 these reorders round the source and the weights; the rounded copies are
        // what the backward passes read too (the precision is the call's, fixed here).
        let src = try DNNL.reorder(x, to: forward.descriptor(dnnl_query_src_md))
        let weights = try DNNL.reorder(g.weightView(weight), to: forward.descriptor(dnnl_query_weights_md))
        let out = try g.runForward(forward, source: src, weights: weights, bias: bias)
        return record(out, name: g.op, inputs: [x, weight] + (bias.map { [$0] } ?? [])) { gradient in
            try g.backward(gradient, input: x, source: src, weight: weight, weights: weights, forward: forward)
        }
    }
}
