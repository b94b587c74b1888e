import CDNNL

/// The arithmetic precision of the heavy ops (matrix products) in a scope.
public enum Precision: String, Codable, Sendable, CaseIterable {
    /// float32 everywhere: the default, and what every figure without a note used.
    case fp32
    /// bfloat16 inputs with float32 accumulation and outputs, where the CPU has native
    /// bf16 dot products (AVX512-BF16 or AMX): twice the multiply-adds per cycle, at the
    /// cost of 8 significant bits per operand. Weights stay float32 (the master copy an
    /// optimiser updates); they are rounded to bf16 as each product runs.
    case bf16
}

/// Which precision ops run in, scoped like ``withoutGradients(_:)``, and whether this CPU
/// can run bf16 natively.
///
/// In bf16, ``Tensor/convolution2d(_:weight:bias:stride:padding:)``,
/// ``Tensor/convolutionTranspose2d(_:weight:bias:stride:padding:outputPadding:)`` and their
/// 3-D counterparts run every pass, forward and backward, with bf16 operands and float32
/// results (training and inference alike), and ``Tensor/linear(_:weight:bias:)`` runs its
/// product in bf16 where no gradient is recorded. Every other op (BatchNorm, activations,
/// pooling, LSTMs, the optimisers) stays float32, as do the tensors between ops.
public enum ComputePrecision {
    /// The precision of the current task; float32 unless ``run(in:_:)`` says otherwise.
    @TaskLocal static var current: Precision = .fp32

    /// The precision of the current task, for code outside the core that picks kernels by it.
    public static var precision: Precision { current }

    /// Whether oneDNN runs native bf16 kernels on this CPU (AVX512-BF16 or AMX), given
    /// `ONEDNN_MAX_CPU_ISA` (``ComputeHost/oneDNNBF16``).
    public static var bf16IsNative: Bool { ComputeHost.oneDNNBF16 }

    /// oneDNN's name for the instruction set it runs on (``ComputeHost/oneDNNISA``).
    public static var isaName: String { ComputeHost.oneDNNISA }

    /// Runs `body` with the heavy ops in `precision`.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` for bf16 on a CPU without
    ///   native bf16, rather than running an emulated path many times slower.
    public static func run<R>(in precision: Precision, _ body: () throws -> R) throws -> R {
        if precision == .bf16, !bf16IsNative {
            throw TensorError.invalidArgument(op: "precision", message: "bf16 needs a CPU with AVX512-BF16 or AMX; oneDNN runs \(isaName) here (or ONEDNN_MAX_CPU_ISA caps it): use fp32")
        }
        return try $current.withValue(precision) { try body() }
    }
}

extension Tensor {
    /// `x · Wᵀ + b` with bf16 operands and float32 accumulation, through oneDNN's matmul.
    static func bf16Linear(_ x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        let (n, k, m) = (x.shape[0], x.shape[1], weight.shape[0])
        // oneDNN's reorder rounds to nearest even with the CPU's own conversion instruction.
        let xb = try DNNL.reorder(x.plain(), to: MemoryDescriptor(shape: [n, k], tag: dnnl_ab, dataType: dnnl_bf16))
        let wb = try DNNL.reorder(weight.plain(), to: MemoryDescriptor(shape: [m, k], tag: dnnl_ab, dataType: dnnl_bf16))
        let source = MemoryDescriptor(shape: [n, k], tag: dnnl_ab, dataType: dnnl_bf16)
        // The weight [out, in] read as its transpose [in, out]: the `ba` layout.
        let weights = MemoryDescriptor(shape: [k, m], tag: dnnl_ba, dataType: dnnl_bf16)
        let biasDescriptor = bias.map { _ in MemoryDescriptor(shape: [1, m], tag: dnnl_ab) }
        let destination = MemoryDescriptor(shape: [n, m], tag: dnnl_ab)
        let key = "matmul-bf16|\(n)|\(k)|\(m)|\(bias != nil)"
        let primitive = try DNNL.primitive(key, op: "linear") {
            var desc = dnnl_matmul_desc_t()
            var (s, w, d) = (source.raw, weights.raw, destination.raw)
            if var b = biasDescriptor?.raw {
                try DNNL.check(dnnl_matmul_desc_init(&desc, &s, &w, &b, &d), "linear", "dnnl_matmul_desc_init")
            } else {
                try DNNL.check(dnnl_matmul_desc_init(&desc, &s, &w, nil, &d), "linear", "dnnl_matmul_desc_init")
            }
            return try DNNL.makeDescriptor(&desc, op: "linear")
        }
        let out = Tensor(zeros: [n, m])
        var arguments = [(DNNL_ARG_SRC, xb, source), (DNNL_ARG_WEIGHTS, wb, weights), (DNNL_ARG_DST, out, destination)]
        if let bias, let biasDescriptor { arguments.append((DNNL_ARG_BIAS, try bias.plain(), biasDescriptor)) }
        try primitive.execute(arguments, op: "linear")
        return out
    }
}
