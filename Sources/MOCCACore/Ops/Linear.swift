import COpenBLAS

/// Fully connected layer arithmetic on OpenBLAS's SGEMM.
extension Tensor {
    /// `x · Wᵀ + b` for `x` of shape `[N, in]`, `weight` `[out, in]` and `bias` `[out]`.
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) throws -> Tensor {
        let op = "linear"
        try Validate.rank(x, 2, op, "input [N, features]")
        try Validate.rank(weight, 2, op, "weight [out, in]")
        try Validate.nonEmptyBatch(x, op)
        let (n, inFeatures, outFeatures) = (x.shape[0], x.shape[1], weight.shape[0])
        guard weight.shape[1] == inFeatures else {
            throw TensorError.shapeMismatch(op: op, message: "input has \(inFeatures) features, weight expects \(weight.shape[1])")
        }
        if let bias, bias.shape != [outFeatures] {
            throw TensorError.shapeMismatch(op: op, message: "bias \(bias.shape), expected [\(outFeatures)]")
        }
        // bf16 runs where nothing will differentiate the result (see ComputePrecision).
        if ComputePrecision.current == .bf16, !GradientMode.isEnabled || !(x.requiresGrad || weight.requiresGrad || bias?.requiresGrad == true) {
            return try bf16Linear(x, weight: weight, bias: bias)
        }
        let xp = try x.plain(), wp = try weight.plain()
        Threads.applyToCurrentThread()
        let out = Tensor(zeros: [n, outFeatures])
        if let bias {
            let b = try bias.plain()
            for row in 0..<n { (out.floatPointer + row * outFeatures).update(from: b.floatPointer, count: outFeatures) }
        }
        withExtendedLifetime((xp, wp)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(outFeatures), Int32(inFeatures),
                        1, xp.floatPointer, Int32(inFeatures), wp.floatPointer, Int32(inFeatures),
                        bias == nil ? 0 : 1, out.floatPointer, Int32(outFeatures))
        }
        let inputs = [x, weight] + (bias.map { [$0] } ?? [])
        return record(out, name: op, inputs: inputs) { g in
            let g = try g.plain()
            defer { withExtendedLifetime((g, xp, wp)) {} }
            var gradients: [Tensor?] = [nil, nil]
            if x.requiresGrad {
                let gx = Tensor(zeros: [n, inFeatures])
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(inFeatures), Int32(outFeatures),
                            1, g.floatPointer, Int32(outFeatures), wp.floatPointer, Int32(inFeatures),
                            0, gx.floatPointer, Int32(inFeatures))
                gradients[0] = gx
            }
            if weight.requiresGrad {
                let gw = Tensor(zeros: [outFeatures, inFeatures])
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), Int32(n),
                            1, g.floatPointer, Int32(outFeatures), xp.floatPointer, Int32(inFeatures),
                            0, gw.floatPointer, Int32(inFeatures))
                gradients[1] = gw
            }
            if bias != nil {
                gradients.append(try g.detached().sum(alongAxes: [0]))
            }
            return gradients
        }
    }
}
