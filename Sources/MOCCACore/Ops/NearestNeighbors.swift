import COpenBLAS

/// Nearest-neighbour distances between row sets, for scoring (no gradient).
extension Tensor {
    /// The Euclidean distance of each row of `self` `[B, D]` to its `k`-th nearest row of
    /// `references` `[N, D]`, shape `[B]`.
    ///
    /// Candidates come from one SGEMM, `‖q‖² + ‖r‖² − 2 q·r`, so a batch costs `B·N·D`
    /// multiply-adds and `B·N` floats of scratch. That expansion cancels catastrophically
    /// for near neighbours: two identical rows of squared norm 1,000 came out 0.01 apart on
    /// one host's kernels and 0 on another's. So the ``refinedCandidates`` nearest by the
    /// expansion are measured again directly, `Σ (q − r)²`, and the `k`-th of those exact
    /// distances is returned: a near-duplicate scores its true distance on every host.
    ///
    /// - Parameters:
    ///   - k: which neighbour, from 1.
    ///   - selfOffset: when the queries are themselves references (query row `i` is
    ///     reference row `selfOffset + i`), each query skips its own row: the
    ///     leave-one-out distance of a training sample.
    /// - Throws: ``TensorError`` for mismatched shapes, or when fewer than `k` references
    ///   remain to choose from.
    public func nearestNeighborDistances(to references: Tensor, k: Int = 1, selfOffset: Int? = nil) throws -> Tensor {
        if let selfOffset, selfOffset < 0 || selfOffset + (shape.first ?? 0) > references.shape.first ?? 0 {
            throw TensorError.invalidArgument(op: "nearest_neighbor_distances", message: "query rows \(selfOffset)..<\(selfOffset + (shape.first ?? 0)) are not all reference rows (0..<\(references.shape.first ?? 0))")
        }
        return try nearestNeighborDistances(to: references, k: k, skipping: selfOffset.map { offset in (0..<(shape.first ?? 0)).map { offset + $0 } })
    }

    /// The Euclidean distance of each row of `self` `[B, D]` to its `k`-th nearest row of
    /// `references` `[N, D]`, query row `i` skipping reference row `skipping[i]` (none where
    /// it is negative): the leave-one-out distance of training samples kept among the
    /// references at any position (a coreset, say).
    /// - Throws: ``TensorError`` for mismatched shapes, a skip list of the wrong length, or
    ///   when fewer than `k` references remain to choose from.
    public func nearestNeighborDistances(to references: Tensor, k: Int = 1, skipping: [Int]?) throws -> Tensor {
        let op = "nearest_neighbor_distances"
        try Validate.rank(self, 2, op, "queries [B, D]")
        try Validate.rank(references, 2, op, "references [N, D]")
        let (b, d, n) = (shape[0], shape[1], references.shape[0])
        guard references.shape[1] == d else {
            throw TensorError.shapeMismatch(op: op, message: "queries have \(d) features, references \(references.shape[1])")
        }
        if let skipping, skipping.count != b {
            throw TensorError.shapeMismatch(op: op, message: "\(skipping.count) rows to skip for \(b) queries")
        }
        let candidates = skipping?.contains(where: { $0 >= 0 }) == true ? n - 1 : n
        guard k >= 1, k <= candidates else {
            throw TensorError.invalidArgument(op: op, message: "k must be in 1...\(candidates) (the references to choose from), got \(k)")
        }
        let out = Tensor(zeros: [b])
        guard b > 0 else { return out }
        let q = try plain(), r = try references.plain()
        Threads.applyToCurrentThread()
        let products = Tensor(zeros: [b, n])
        withExtendedLifetime((q, r)) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(b), Int32(n), Int32(d),
                        1, q.floatPointer, Int32(d), r.floatPointer, Int32(d), 0, products.floatPointer, Int32(n))
            let normStorage = Tensor(zeros: [n])
            let referenceNorms = normStorage.floatPointer
            for j in 0..<n { referenceNorms[j] = Self.squaredNorm(r.floatPointer + j * d, count: d) }
            // The m smallest expanded distances so far, ascending, with their rows; query
            // rows are independent.
            let m = min(k + Self.refinedCandidates, candidates)
            Threads.parallelFor(b, minimumPerThread: 8) { rows in
                var smallest = [Float](repeating: .infinity, count: m), nearest = [Int](repeating: -1, count: m)
                var exact = [Float](repeating: 0, count: m)
                for i in rows {
                    let query = q.floatPointer + i * d
                    let queryNorm = Self.squaredNorm(query, count: d)
                    let row = products.floatPointer + i * n
                    let skipped = skipping?[i] ?? -1
                    for slot in 0..<m { (smallest[slot], nearest[slot]) = (.infinity, -1) }
                    // The bar to enter the m kept lives in a register; the scan reads
                    // plain pointers (most references fail the first comparison).
                    var worst = Float.infinity
                    for l in 0..<n {
                        let distance = queryNorm + referenceNorms[l] - 2 * row[l]
                        guard distance < worst, l != skipped else { continue }
                        var slot = m - 1
                        while slot > 0, smallest[slot - 1] > distance {
                            (smallest[slot], nearest[slot]) = (smallest[slot - 1], nearest[slot - 1])
                            slot -= 1
                        }
                        (smallest[slot], nearest[slot]) = (distance, l)
                        worst = smallest[m - 1]
                    }
                    for slot in 0..<m {
                        exact[slot] = nearest[slot] < 0 ? .infinity : Self.squaredDistance(query, r.floatPointer + nearest[slot] * d, count: d)
                    }
                    exact.sort()
                    out.floatPointer[i] = exact[k - 1].squareRoot()
                }
            }
            // The norms are read through a pointer: keep their storage until the search ends.
            withExtendedLifetime(normStorage) {}
        }
        return out
    }

    /// How many candidates beyond `k` are measured exactly: enough that a neighbour the
    /// expansion's rounding ranked a few places too far still counts.
    public static let refinedCandidates = 4

    private static func squaredDistance(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for j in 0..<count {
            let difference = a[j] - b[j]
            sum += difference * difference
        }
        return sum
    }

    private static func squaredNorm(_ row: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var sum: Float = 0
        for j in 0..<count { sum += row[j] * row[j] }
        return sum
    }
}
