import Foundation
import MOCCACore
import MOCCANN

/// The deterministic fill that `scripts/make-golden.py` uses for every input, weight and
/// upstream gradient: `scale·(2·frac(i·φ⁻¹ + seed·ρ⁻¹) − 1)` in double precision, rounded
/// to float. Only IEEE basic operations are involved, so Swift and NumPy agree exactly.
public func deterministicFill(_ shape: [Int], seed: Int, scale: Double = 1) -> Tensor {
    let count = shape.reduce(1, *)
    let values = (0..<count).map { i -> Float in
        let v = (Double(i) * 0.6180339887498949 + Double(seed) * 0.7548776662466927).truncatingRemainder(dividingBy: 1)
        return Float(scale * (2 * v - 1))
    }
    // The shape and the count agree by construction.
    return (try? Tensor(shape: shape, scalars: values)) ?? Tensor(zeros: shape)
}

/// The golden fixtures written once by `scripts/make-golden.py` with PyTorch.
public enum Fixtures {
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures/golden")

    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    public static func load(_ name: String) throws -> SafeTensors.Contents {
        try SafeTensors.read(from: url("\(name).safetensors"))
    }
}

extension SafeTensors.Contents {
    /// The tensor `key`, or an error naming the missing key.
    public func tensor(_ key: String) throws -> Tensor {
        guard let tensor = tensors[key] else { throw FixtureError.missing(key) }
        return tensor
    }
}

public enum FixtureError: Error { case missing(String) }

/// The largest `|a − b| / (atol + rtol·|b|)`; at most 1 means "close".
public func closeness(_ a: Tensor, _ b: Tensor, rtol: Float, atol: Float) -> Float {
    guard a.shape == b.shape else { return .infinity }
    let x = a.scalars, y = b.scalars
    return zip(x, y).map { abs($0 - $1) / (atol + rtol * abs($1)) }.max() ?? 0
}

/// Whether every element of `a` is within `atol + rtol·|b|` of `b`, shapes equal.
public func isClose(_ a: Tensor, _ b: Tensor, rtol: Float = 1e-4, atol: Float = 1e-5) -> Bool {
    closeness(a, b, rtol: rtol, atol: atol) <= 1
}

/// `‖a − b‖ / ‖b‖`, the relative error in the L2 norm.
public func relativeL2Error(_ a: Tensor, _ b: Tensor) -> Float {
    guard a.shape == b.shape else { return .infinity }
    let x = a.scalars, y = b.scalars
    let diff = zip(x, y).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
    let norm = y.reduce(Float(0)) { $0 + $1 * $1 }
    return (diff / max(norm, .leastNormalMagnitude)).squareRoot()
}

/// A leaf that requires gradients, holding a copy of `tensor`'s values.
public func leaf(_ tensor: Tensor) -> Tensor {
    let copy = (try? tensor.copy()) ?? tensor
    copy.requiresGrad = true
    return copy
}

/// `Σ y ⊙ gy`: back-propagating it seeds `y`'s gradient with `gy`, as the fixtures do.
public func project(_ y: Tensor, _ gy: Tensor) throws -> Tensor {
    try (y * gy).sum()
}
