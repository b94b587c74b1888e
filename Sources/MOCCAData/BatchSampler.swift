import MOCCACore

/// Seeded mini-batches: a fresh permutation of the samples every epoch.
public struct BatchSampler: Sendable {
    /// The number of samples drawn from.
    public let count: Int
    /// The number of samples per batch (at least 1).
    public let batchSize: Int
    /// Whether to drop a last, smaller batch (BatchNorm needs more than one sample).
    public let dropLast: Bool
    private var generator: RandomGenerator

    /// A sampler over `count` samples whose permutations are fixed by `seed`; a batch size below 1 becomes 1.
    public init(count: Int, batchSize: Int, seed: UInt64, dropLast: Bool = false) {
        self.count = count
        self.batchSize = max(1, batchSize)
        self.dropLast = dropLast
        self.generator = RandomGenerator(seed: seed)
    }

    /// The batches of the next epoch, as sample indices.
    public mutating func nextEpoch() -> [[Int]] {
        let order = generator.permutation(count)
        var batches: [[Int]] = []
        var start = 0
        while start < count {
            let end = min(count, start + batchSize)
            if dropLast && end - start < batchSize && !batches.isEmpty { break }
            batches.append(Array(order[start..<end]))
            start = end
        }
        return batches
    }
}

extension Tensor {
    /// The rows (samples along axis 0) at `indices`, copied into a new plain tensor.
    public func gatheringRows(_ indices: [Int]) throws -> Tensor {
        guard rank >= 1 else { throw TensorError.rankMismatch(op: "gatheringRows", expected: "a batch of rank >= 1", got: shape) }
        if let bad = indices.first(where: { !(0..<shape[0]).contains($0) }) {
            throw TensorError.invalidArgument(op: "gatheringRows", message: "row \(bad) is outside 0..<\(shape[0])")
        }
        let source = try plain()
        let rowSize = count / max(shape[0], 1)
        let out = Tensor(zeros: [indices.count] + shape.dropFirst())
        defer { withExtendedLifetime(source) {} }
        let src = source.unsafeScalarPointer, dst = out.unsafeScalarPointer
        for (row, index) in indices.enumerated() {
            (dst + row * rowSize).update(from: src + index * rowSize, count: rowSize)
        }
        return out
    }
}
