import Foundation

/// A numeric table in memory: row-major Float features, optional labels.
///
/// Every tabular reader (CSV, NPY, NPZ) ends here, so that detectors that work on
/// feature vectors need to know one layout only, whatever file the vectors came from.
public struct NumericTable: Sendable, Equatable {
    /// The feature columns' names, in the order of each row's values; used to match a
    /// file's columns to those a trained detector expects (NPY/NPZ: "x0", "x1", ...).
    public var columnNames: [String]
    /// The number of rows: `values.count / columnCount`, kept so that a table of zero
    /// columns still knows how many rows (labels) it has.
    public var rowCount: Int
    /// `rowCount * columnCount` values, row after row, so that a row is a contiguous slice.
    public var values: [Float]
    /// One label per row (0 normal, 1 anomaly, any integer kept as read) when the file had
    /// a label column or array; nil otherwise, since unlabelled data is the common case.
    public var labels: [Int]?

    /// The number of feature columns; a name each.
    public var columnCount: Int { columnNames.count }

    /// A table whose shape is checked once here, so that later code can slice rows
    /// without checking again.
    /// - Throws: ``DataError/malformed(path:message:)`` when `values` is not a whole number
    ///   of rows, or when `labels` does not hold one label per row.
    public init(columnNames: [String], values: [Float], labels: [Int]?) throws {
        let columns = columnNames.count
        let rows: Int
        if columns == 0 {
            guard values.isEmpty else {
                throw DataError.malformed(path: "table", message: "expected no values for a table of no columns, found \(values.count)")
            }
            rows = labels?.count ?? 0
        } else {
            guard values.count % columns == 0 else {
                throw DataError.malformed(path: "table", message: "expected a multiple of \(columns) values (one per column per row), found \(values.count)")
            }
            rows = values.count / columns
        }
        if let labels, labels.count != rows {
            throw DataError.malformed(path: "table", message: "expected \(rows) labels, one per row, found \(labels.count)")
        }
        self.columnNames = columnNames
        self.rowCount = rows
        self.values = values
        self.labels = labels
    }

    /// The values of row `i` (0-based), without copying; `i` must be in `0..<rowCount`,
    /// as for an array's subscript.
    public func row(_ i: Int) -> ArraySlice<Float> {
        values[(i * columnCount)..<((i + 1) * columnCount)]
    }
}
