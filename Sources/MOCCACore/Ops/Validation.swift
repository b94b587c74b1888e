/// Input checks shared by the ops: each throws a ``TensorError`` that names the op.
enum Validate {
    static func rank(_ tensor: Tensor, _ expected: Int, _ op: String, _ what: String) throws {
        guard tensor.rank == expected else {
            throw TensorError.rankMismatch(op: op, expected: "\(what) of rank \(expected)", got: tensor.shape)
        }
    }

    static func sameShape(_ a: Tensor, _ b: Tensor, _ op: String) throws {
        guard a.shape == b.shape else {
            throw TensorError.shapeMismatch(op: op, message: "\(a.shape) vs \(b.shape)")
        }
    }

    static func nonEmptyBatch(_ tensor: Tensor, _ op: String) throws {
        guard tensor.count > 0 else {
            throw TensorError.empty(op: op, message: "a tensor of shape \(tensor.shape) holds no elements")
        }
    }

    static func positive(_ value: Int, _ name: String, _ op: String) throws {
        guard value > 0 else { throw TensorError.invalidArgument(op: op, message: "\(name) must be positive, got \(value)") }
    }

    /// Normalises possibly negative axes against `rank` and checks their range.
    static func axes(_ axes: [Int], rank: Int, _ op: String) throws -> [Int] {
        try axes.map { axis in
            let normalised = axis < 0 ? axis + rank : axis
            guard (0..<rank).contains(normalised) else {
                throw TensorError.invalidArgument(op: op, message: "axis \(axis) is out of range for rank \(rank)")
            }
            return normalised
        }
    }
}

extension Tensor {
    /// Throws ``TensorError/nonFinite(op:message:)`` unless every element is finite.
    public func checkFinite(_ what: String) throws {
        guard isFinite else {
            throw TensorError.nonFinite(op: what, message: "a tensor of shape \(shape) holds NaN or infinity")
        }
    }
}
