import MOCCACore
import MOCCANN

/// A network output or gradient compared with a golden file's value, in max-abs relative
/// and relative L2 error, each bounded by `max(floor, spreadFactor ×` PyTorch's own
/// float32 deviation from the float64 reference`)` (the fixture's `torch_f32_deviation.<key>`
/// metadata, "max-abs relative; relative L2").
public struct TorchComparison: CustomStringConvertible {
    /// The fixture key compared.
    public let key: String
    /// The shapes, actual then expected.
    public let shapes: ([Int], [Int])
    /// The largest absolute difference over the largest expected magnitude.
    public let maxRelative: Float
    /// The relative L2 error.
    public let l2: Float
    /// The bounds the two must stay within.
    public let maxBound: Float, l2Bound: Float
    /// Whether the actual values are all zero where the expected ones are not.
    public let vanished: Bool

    /// Compares `actual` with `fixture`'s `key`.
    /// - Throws: when the fixture lacks the key or its PyTorch deviation.
    public init(_ actual: Tensor, _ fixture: SafeTensors.Contents, _ key: String, spreadFactor: Float, floor: Float) throws {
        let expected = try fixture.tensor(key)
        guard let deviation = fixture.metadata["torch_f32_deviation.\(key)"] else {
            throw FixtureError.missing("torch_f32_deviation.\(key)")
        }
        let torch = deviation.split(separator: ";").compactMap { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard torch.count == 2 else { throw FixtureError.missing("torch_f32_deviation.\(key) as 'max; l2' (got \(deviation))") }
        self.key = key
        shapes = (actual.shape, expected.shape)
        (maxBound, l2Bound) = (max(floor, spreadFactor * torch[0]), max(floor, spreadFactor * torch[1]))
        guard actual.shape == expected.shape else {
            (maxRelative, l2, vanished) = (.infinity, .infinity, false)
            return
        }
        let (a, b) = (actual.scalars, expected.scalars)
        let scale = b.map(abs).max() ?? 0
        maxRelative = (zip(a, b).map { abs($0 - $1) }.max() ?? 0) / max(scale, .leastNormalMagnitude)
        l2 = relativeL2Error(actual, expected)
        vanished = a.allSatisfy { $0 == 0 } && !b.allSatisfy { $0 == 0 }
    }

    /// Whether the shapes agree and both errors are within their bounds.
    public var passes: Bool { shapes.0 == shapes.1 && maxRelative <= maxBound && l2 <= l2Bound && !vanished }

    /// The figures, for a failed expectation.
    public var description: String {
        shapes.0 != shapes.1 ? "\(key): shape \(shapes.0) vs \(shapes.1)"
            : "\(key): max-abs relative \(maxRelative) (bound \(maxBound)), relative L2 \(l2) (bound \(l2Bound))" + (vanished ? ", all zero" : "")
    }
}
