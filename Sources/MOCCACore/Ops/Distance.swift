/// Distances and the reconstruction loss, in plain layout.
extension Tensor {
    /// Row-wise squared Euclidean distance of `self` `[N, D]` to `centre` `[D]`: `‖z_i − c‖²`, shape `[N]`.
    public func squaredDistance(to centre: Tensor) throws -> Tensor {
        let op = "squared_distance"
        try Validate.rank(self, 2, op, "rows [N, D]")
        try Validate.rank(centre, 1, op, "centre [D]")
        guard shape[1] == centre.shape[0] else {
            throw TensorError.shapeMismatch(op: op, message: "rows have \(shape[1]) features, the centre \(centre.shape[0])")
        }
        let (n, d) = (shape[0], shape[1])
        let z = try plain(), c = try centre.plain()
        let out = Tensor(zeros: [n])
        defer { withExtendedLifetime((z, c)) {} }
        for i in 0..<n {
            var sum: Float = 0
            let row = z.floatPointer + i * d
            for j in 0..<d {
                let diff = row[j] - c.floatPointer[j]
                sum += diff * diff
            }
            out.floatPointer[i] = sum
        }
        return Tensor.record(out, name: op, inputs: [self, centre]) { gradient in
            let g = try gradient.plain()
            defer { withExtendedLifetime((g, z, c)) {} }
            let gz = Tensor(zeros: [n, d]), gc = Tensor(zeros: [d])
            for i in 0..<n {
                let scale = 2 * g.floatPointer[i]
                for j in 0..<d {
                    let value = scale * (z.floatPointer[i * d + j] - c.floatPointer[j])
                    gz.floatPointer[i * d + j] = value
                    gc.floatPointer[j] -= value
                }
            }
            return [gz, gc]
        }
    }

    /// The autoencoder loss of Deep SVDD and MOCCA: the batch mean of the per-sample sum
    /// of squared errors, `(1/N) Σ_i ‖x̂_i − x_i‖²`, as a tensor of shape `[]`.
    public static func meanSquaredError(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
        let op = "mse"
        try Validate.sameShape(prediction, target, op)
        try Validate.nonEmptyBatch(prediction, op)
        guard prediction.rank >= 1 else { throw TensorError.rankMismatch(op: op, expected: "a batch of rank >= 1", got: prediction.shape) }
        let a = try prediction.plain(), b = try target.plain()
        let n = prediction.shape[0], count = prediction.count
        defer { withExtendedLifetime((a, b)) {} }
        var total: Double = 0
        for i in 0..<count {
            let diff = Double(a.floatPointer[i] - b.floatPointer[i])
            total += diff * diff
        }
        let out = Tensor(Float(total / Double(n)))
        return record(out, name: op, inputs: [prediction, target]) { gradient in
            let scale = 2 * gradient.item / Float(n)
            let ga = Tensor(zeros: prediction.shape)
            defer { withExtendedLifetime((a, b)) {} }
            for i in 0..<count { ga.floatPointer[i] = scale * (a.floatPointer[i] - b.floatPointer[i]) }
            return [ga, target.requiresGrad ? try ga * -1 : nil]
        }
    }
}
