import Foundation

/// Reads a whole CSV file of numeric features (and optionally integer labels) into a
/// ``NumericTable``, for training, where every row is needed at once.
public enum CSVTable {
    /// Reads a whole file (header required).
    ///
    /// Under ``MissingValuePolicy/median`` a missing feature cell takes its column's median
    /// over the rows where it is present, and the medians are returned in `imputed` (one per
    /// feature column, nil under `.reject`) so that they can be stored with a detector and
    /// given to ``CSVRowStream`` when it scores new files.
    /// - Throws: ``DataError/missing(path:expected:)`` for a missing file or column,
    ///   ``DataError/malformed(path:message:)`` naming the data row and column of a bad
    ///   cell (see ``CSVRowStream/next(maxRows:)``), or naming a column with no values to
    ///   take a median of.
    public static func read(contentsOf url: URL, options: CSVTableOptions) throws -> (table: NumericTable, imputed: [Float]?) {
        try read(contentsOf: url, options: options, chunkSize: CSVRecordReader.defaultChunkSize)
    }

    /// ``read(contentsOf:options:)`` reading `chunkSize` bytes at a time.
    static func read(contentsOf url: URL, options: CSVTableOptions, chunkSize: Int) throws -> (table: NumericTable, imputed: [Float]?) {
        let imputing = options.missingValues == .median
        var stream = try CSVRowStream(url: url, options: options, featureColumns: options.featureColumns,
                                      fill: imputing ? .markNaN : .reject, chunkSize: chunkSize)
        var values: [Float] = []
        var labels: [Int]? = options.labelColumn == nil ? nil : []
        while let rows = try stream.next(maxRows: 1 << 16) {
            values += rows.values
            if let more = rows.labels { labels?.append(contentsOf: more) }
        }
        var medians: [Float]?
        if imputing {
            let fills = try columnMedians(values, columnNames: stream.columnNames, path: url.path)
            let width = fills.count
            for index in values.indices where values[index].isNaN { values[index] = fills[index % width] }
            medians = fills
        }
        return (try NumericTable(columnNames: stream.columnNames, values: values, labels: labels), medians)
    }

    /// The median of each column of row-major `values`, NaN (missing) cells left out; the
    /// mean of the two middle values for an even count.
    /// - Throws: ``DataError/malformed(path:message:)`` for a column with no values at all.
    static func columnMedians(_ values: [Float], columnNames: [String], path: String) throws -> [Float] {
        let width = columnNames.count
        return try columnNames.indices.map { column in
            var present = stride(from: column, to: values.count, by: width).map { values[$0] }.filter { !$0.isNaN }
            guard !present.isEmpty else {
                throw DataError.malformed(path: path, message: "column '\(columnNames[column])' has no values to take a median of (every cell is missing)")
            }
            present.sort()
            let middle = present.count / 2
            return present.count % 2 == 1 ? present[middle] : Float((Double(present[middle - 1]) + Double(present[middle])) / 2)
        }
    }
}
