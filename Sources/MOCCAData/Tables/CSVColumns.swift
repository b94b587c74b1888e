/// A CSV file's header and which of its columns are features and which the label:
/// resolved once, before any row is read, so that a misspelt name fails at once and lists
/// the names the file does have.
struct CSVColumns {
    let header: [String]
    let featureIndices: [Int]
    let labelIndex: Int?

    var featureNames: [String] { featureIndices.map { header[$0] } }

    /// Reads the header from `reader` and resolves the columns.
    /// - Parameter featureColumns: the feature columns wanted, in order; nil for every
    ///   column that is neither the label nor excluded.
    /// - Throws: ``DataError/malformed(path:message:)`` for an empty file, duplicate header
    ///   names, a label column also asked for as a feature, or no feature columns at all;
    ///   ``DataError/missing(path:expected:)`` listing the header's names for a label,
    ///   feature or excluded column the header lacks.
    init(reading reader: inout CSVRecordReader, options: CSVTableOptions, featureColumns: [String]?) throws {
        let path = reader.path
        guard try reader.next() else {
            throw DataError.malformed(path: path, message: "the file is empty; expected a header row of column names")
        }
        let header = (0..<reader.fieldCount).map { index in
            String(decoding: CSVCell.trimmed(reader.field(index)), as: UTF8.self)
        }
        var positions: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            if let first = positions[name] {
                throw DataError.malformed(path: path, message: "the header names column '\(name)' twice (columns \(first + 1) and \(index + 1)); column names must be unique")
            }
            positions[name] = index
        }
        func position(of name: String, role: String) throws -> Int {
            guard let index = positions[name] else {
                let names = header.map { "'\($0)'" }.joined(separator: ", ")
                throw DataError.missing(path: path, expected: "a \(role) column named '\(name)' in the header (its columns: \(names))")
            }
            return index
        }
        let label = try options.labelColumn.map { try position(of: $0, role: "label") }
        let excluded = Set(try options.excludedColumns.map { try position(of: $0, role: "excluded") })
        var features: [Int]
        if let featureColumns {
            features = try featureColumns.map { try position(of: $0, role: "feature") }
            if let label, features.contains(label) {
                throw DataError.malformed(path: path, message: "column '\(header[label])' is the label column and cannot also be a feature")
            }
            if Set(features).count != features.count {
                throw DataError.malformed(path: path, message: "the feature columns name a column twice: \(featureColumns)")
            }
        } else {
            features = header.indices.filter { $0 != label && !excluded.contains($0) }
        }
        guard !features.isEmpty else {
            throw DataError.malformed(path: path, message: "no feature columns: the header has \(header.count) columns, none left once the label and excluded columns are set aside")
        }
        self.header = header
        featureIndices = features
        labelIndex = label
    }
}
