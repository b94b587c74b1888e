import MOCCACore

/// The per-tap mathematics of MOCCA's one-class phase, as pure functions.
///
/// For tap `l` with centroid `c_l`, a sample's distance is `d_l = ‖φ_l(x) − c_l‖²`.
public enum OneClassObjective {
    /// Deep SVDD's ε-rule for a centroid: a coordinate closer to zero than `epsilon` is
    /// pushed to `±epsilon` by its sign, so that a network with zeroed weights cannot
    /// reach the centroid trivially. Exact zeros stay zero, as in the reference.
    public static func adjustedCentroid(_ centroid: [Float], epsilon: Float = 0.1) -> [Float] {
        centroid.map { value in
            guard abs(value) < epsilon, value != 0 else { return value }
            return value < 0 ? -epsilon : epsilon
        }
    }

    /// One tap's training loss for a batch of distances `d` `[N]`.
    ///
    /// - hard: `mean_i d_i`;
    /// - soft: `R² + (1/ν)·mean_i max(0, d_i − R²)`; `R` is not trained by gradient but
    ///   updated by ``radius(distances:nu:)`` after each step, so the `R²` term only
    ///   shifts the loss value.
    public static func loss(distances: Tensor, boundary: MOCCAConfiguration.Boundary, radius: Float, nu: Double) throws -> Tensor {
        switch boundary {
        case .hard:
            return try distances.mean()
        case .soft:
            let r2 = radius * radius
            let outside = try (distances + (-r2)).relu()
            return try outside.mean() * Float(1 / nu) + r2
        }
    }

    /// The soft boundary's radius: the `(1 − ν)` quantile of `√d` over the batch, with
    /// linear interpolation (NumPy's `quantile`), as Deep SVDD's `get_radius`.
    public static func radius(distances: [Float], nu: Double) -> Float {
        quantile(distances.map { max($0, 0).squareRoot() }, 1 - nu)
    }

    /// A tap's anomaly score: `d` (hard) or `d − R²` (soft).
    public static func score(distances: [Float], boundary: MOCCAConfiguration.Boundary, radius: Float) -> [Float] {
        switch boundary {
        case .hard: return distances
        case .soft: return distances.map { $0 - radius * radius }
        }
    }
}
