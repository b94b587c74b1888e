/// How a CSV file's columns become features and labels.
///
/// Kept apart from the reader so that a trained detector can store the options it was
/// trained with and apply the same ones when it scores new files.
public struct CSVTableOptions: Sendable, Equatable {
    /// The header name of the column of integer labels (0 normal, 1 anomaly); nil when
    /// the file is unlabelled.
    public var labelColumn: String?
    /// The feature columns by header name, in the order wanted; nil takes every column
    /// except the label and the excluded ones, in the file's order.
    public var featureColumns: [String]?
    /// Columns that are neither features nor labels (identifiers, timestamps, free text).
    public var excludedColumns: [String]
    /// What an empty or not-a-number cell means: an error, or a value to impute.
    public var missingValues: MissingValuePolicy
    /// The field separator; an ASCII character (',' ';' '\t' '|'), since fields are split
    /// on bytes.
    public var delimiter: Character

    /// Options with the defaults of a plain comma-separated, unlabelled file with no
    /// missing values.
    public init(labelColumn: String? = nil, featureColumns: [String]? = nil, excludedColumns: [String] = [],
                missingValues: MissingValuePolicy = .reject, delimiter: Character = ",") {
        self.labelColumn = labelColumn
        self.featureColumns = featureColumns
        self.excludedColumns = excludedColumns
        self.missingValues = missingValues
        self.delimiter = delimiter
    }
}

/// What a reader does with a missing cell (empty, "NA", "nan") in a feature column.
///
/// Rejecting is the default because silently filling values changes what a detector
/// learns; imputing is an explicit choice (`--impute median`).
public enum MissingValuePolicy: String, Sendable, Codable, CaseIterable {
    /// A missing cell is an error naming its row and column.
    case reject
    /// A missing cell takes its column's median over the rows where it is present; the
    /// medians are returned so that scoring can fill new files with the training values.
    case median
}
