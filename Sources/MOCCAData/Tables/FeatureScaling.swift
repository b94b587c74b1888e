import MOCCACore

/// Per-feature scaling of table rows, fitted on the normal training rows and stored with a
/// detector, so that scoring applies exactly what training saw.
///
/// Tables mix units (bytes, seconds, counts), and an autoencoder's loss and a distance in
/// its taps would otherwise be dominated by the widest feature. Each feature becomes
/// `(x − centre) / scale`.
public struct FeatureScaling: Codable, Sendable, Equatable {
    /// How the centre and the scale are estimated.
    public enum Method: String, Codable, Sendable, CaseIterable {
        /// Mean and standard deviation.
        case standard
        /// Median and interquartile range, which a few extreme rows cannot move: for
        /// training data that may hold unlabelled anomalies.
        case robust
    }

    /// The estimator used.
    public var method: Method
    /// Each feature's centre.
    public var centres: [Float]
    /// Each feature's scale; 1 for a constant feature.
    public var scales: [Float]
    /// The features that do not vary over the training rows. They are centred and left
    /// unscaled (dividing by a zero spread would turn every other value into infinity), so
    /// a value that differs from the constant at test time still counts, in its own unit.
    public var constantFeatures: [Int]

    /// Constants given directly.
    public init(method: Method, centres: [Float], scales: [Float], constantFeatures: [Int] = []) {
        self.method = method
        self.centres = centres
        self.scales = scales
        self.constantFeatures = constantFeatures
    }

    /// The number of features.
    public var featureCount: Int { centres.count }

    /// Fits the constants on the rows of `table`.
    ///
    /// With ``Method/robust``, a feature whose interquartile range is zero but which varies
    /// (a mostly-zero count, a rare flag: common in tabular anomaly data) is scaled by its
    /// standard deviation instead, so that its rare values are not blown up without bound.
    /// - Throws: ``DataError/emptyClass(_:path:)`` when the table has no rows.
    public static func fit(_ table: NumericTable, method: Method = .standard) throws -> FeatureScaling {
        guard table.rowCount > 0 else { throw DataError.emptyClass("normal", path: "the training rows") }
        let (n, d) = (table.rowCount, table.columnCount)
        var centres = [Float](repeating: 0, count: d), scales = [Float](repeating: 1, count: d), constant: [Int] = []
        var column = [Float](repeating: 0, count: n)
        for j in 0..<d {
            table.values.withUnsafeBufferPointer { values in
                for i in 0..<n { column[i] = values[i * d + j] }
            }
            // Sums in Double: a million rows of Float would lose the mean's low digits.
            let mean = column.reduce(0.0) { $0 + Double($1) } / Double(n)
            let variance = column.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
            let deviation = variance.squareRoot()
            var (centre, spread) = (mean, deviation)
            if method == .robust {
                column.sort()
                centre = Double(quantile(ofSorted: column, 0.5))
                let range = Double(quantile(ofSorted: column, 0.75) - quantile(ofSorted: column, 0.25))
                spread = range > 0 ? range : deviation
            }
            centres[j] = Float(centre)
            // A spread this small relative to the values is rounding, not variation.
            if spread > 1e-12 * max(abs(centre), 1), spread.isFinite {
                scales[j] = Float(spread)
            } else {
                constant.append(j)
            }
        }
        return FeatureScaling(method: method, centres: centres, scales: scales, constantFeatures: constant)
    }

    /// The rows of `table`, scaled, as a tensor `[rows, features]`.
    /// - Throws: ``DataError/malformed(path:message:)`` when the table has another number
    ///   of features than the scaling was fitted on.
    public func apply(to table: NumericTable, path: String) throws -> Tensor {
        guard table.columnCount == featureCount else {
            throw DataError.malformed(path: path, message: "\(table.columnCount) feature columns, but the detector was trained on \(featureCount)")
        }
        var values = table.values
        values.withUnsafeMutableBufferPointer { v in
            for i in 0..<table.rowCount {
                for j in 0..<featureCount { v[i * featureCount + j] = (v[i * featureCount + j] - centres[j]) / scales[j] }
            }
        }
        return try Tensor(shape: [table.rowCount, featureCount], scalars: values)
    }
}
