import Foundation

/// Reads a CSV file a chunk of rows at a time in bounded memory (for scoring a million rows).
///
/// The file is read through a `FileHandle` a mebibyte at a time and parsed as bytes, so
/// memory holds one chunk of the file and one chunk of rows, whatever the file's size.
public struct CSVRowStream {
    /// What to do with a missing feature cell.
    enum MissingFill {
        case reject
        /// The value for each feature column (training medians).
        case values([Float])
        /// NaN, for ``CSVTable`` to replace once it knows the medians.
        case markNaN
    }

    private var reader: CSVRecordReader
    private let columns: CSVColumns
    private let fill: MissingFill
    /// Data rows read so far (the header is not one).
    private var dataRow = 0

    /// The feature columns of each row's values, in order.
    public let columnNames: [String]

    /// Opens `url` and reads its header, so that a file lacking a column the detector
    /// needs fails before any row is scored.
    /// - Parameters:
    ///   - options: the label column (read when set), the delimiter and the missing-value
    ///     policy; its `featureColumns` is ignored in favour of `featureColumns`.
    ///   - featureColumns: the exact columns, in this order, that a trained detector expects.
    ///   - fillValues: one value per feature column (the training medians), required when
    ///     `options.missingValues` is `.median`, ignored otherwise.
    /// - Throws: ``DataError/missing(path:expected:)`` for a missing file or column, or
    ///   missing fill values; ``DataError/malformed(path:message:)`` for a bad header or a
    ///   wrong number of fill values; ``DataError/unsupported(path:message:)`` for a
    ///   delimiter that is not a single ASCII character.
    public init(contentsOf url: URL, options: CSVTableOptions, featureColumns: [String], fillValues: [Float]?) throws {
        let fill: MissingFill
        switch options.missingValues {
        case .reject:
            fill = .reject
        case .median:
            guard let fillValues else {
                throw DataError.missing(path: url.path, expected: "the training medians of the \(featureColumns.count) feature columns (fill values), to impute missing cells")
            }
            guard fillValues.count == featureColumns.count else {
                throw DataError.malformed(path: url.path, message: "expected \(featureColumns.count) fill values, one per feature column, found \(fillValues.count)")
            }
            fill = .values(fillValues)
        }
        try self.init(url: url, options: options, featureColumns: featureColumns, fill: fill)
    }

    /// The stream behind both public readers.
    /// - Parameter chunkSize: bytes read at a time; small in tests, to cut records across chunks.
    init(url: URL, options: CSVTableOptions, featureColumns: [String]?, fill: MissingFill,
         chunkSize: Int = CSVRecordReader.defaultChunkSize) throws {
        guard let delimiter = options.delimiter.asciiValue, !"\"\r\n".contains(options.delimiter) else {
            throw DataError.unsupported(path: url.path, message: "delimiter '\(options.delimiter)'; expected a single ASCII character other than a quote or a line end")
        }
        var reader = try CSVRecordReader(url: url, delimiter: delimiter, chunkSize: chunkSize)
        columns = try CSVColumns(reading: &reader, options: options, featureColumns: featureColumns)
        self.reader = reader
        self.fill = fill
        columnNames = columns.featureNames
    }

    /// The next rows, at most `maxRows` (at least one is read even if `maxRows` is smaller);
    /// nil once the file is read to the end.
    /// - Throws: ``DataError/malformed(path:message:)`` naming the data row and column of a
    ///   ragged row, a non-numeric or infinite cell, a missing cell under `.reject`, or a
    ///   label that is not an integer.
    public mutating func next(maxRows: Int) throws -> NumericTable? {
        let limit = max(1, maxRows), width = columns.featureIndices.count
        var values: [Float] = []
        // A few million values at most up front: `maxRows` and the width come from callers
        // and files, and a reservation is not a promise that the rows exist.
        values.reserveCapacity(min(limit, max(1, (1 << 22) / width)) * width)
        var labels: [Int]? = columns.labelIndex == nil ? nil : []
        var rows = 0
        while rows < limit, try reader.next() {
            dataRow += 1
            guard reader.fieldCount == columns.header.count else {
                throw malformed("has \(reader.fieldCount) fields, the header has \(columns.header.count)")
            }
            for (k, index) in columns.featureIndices.enumerated() {
                let field = reader.field(index)
                switch CSVCell(field) {
                case .number(let value):
                    values.append(value)
                case .missing:
                    switch fill {
                    case .reject:
                        let what = CSVCell.trimmed(field).isEmpty ? "empty cell" : "missing value \(quoted(field))"
                        throw malformed("\(what); rerun with --impute median to fill missing cells with the column's median", column: index)
                    case .values(let fillValues):
                        values.append(fillValues[k])
                    case .markNaN:
                        values.append(.nan)
                    }
                case .infinite:
                    throw malformed("infinite or out-of-range value \(quoted(field)); features must be finite (--impute median fills empty and NaN cells, not infinite ones)", column: index)
                case .notANumber:
                    throw malformed("\(quoted(field)) is not a number", column: index)
                }
            }
            if let labelIndex = columns.labelIndex {
                labels?.append(try label(reader.field(labelIndex), column: labelIndex))
            }
            rows += 1
        }
        guard rows > 0 else { return nil }
        return try NumericTable(columnNames: columnNames, values: values, labels: labels)
    }

    /// The integer in a label cell; "1.0" is integral and accepted.
    private func label(_ field: ArraySlice<UInt8>, column: Int) throws -> Int {
        let text = String(decoding: CSVCell.trimmed(field), as: UTF8.self)
        if let value = Int(text) { return value }
        guard !text.isEmpty else { throw malformed("empty label; expected an integer (0 normal, 1 anomaly)", column: column) }
        guard let value = Double(text), value.rounded() == value, abs(value) < 0x1p63 else {
            throw malformed("label \(quoted(field)) is not an integer (expected 0 normal, 1 anomaly)", column: column)
        }
        return Int(value)
    }

    /// A cell for a message: quoted, and cut to 40 characters.
    private func quoted(_ field: ArraySlice<UInt8>) -> String {
        let text = String(decoding: field, as: UTF8.self)
        return text.count > 40 ? "'\(text.prefix(40))…'" : "'\(text)'"
    }

    /// An error about the current data row (and a column of it), with its line in the file.
    private func malformed(_ message: String, column: Int? = nil) -> DataError {
        let place = column.map { "data row \(dataRow), column '\(columns.header[$0])'" } ?? "data row \(dataRow)"
        return DataError.malformed(path: reader.path, message: "\(place): \(message) (line \(reader.line))")
    }
}
