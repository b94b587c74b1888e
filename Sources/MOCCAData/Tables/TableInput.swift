import Foundation
import MOCCACore

/// The file formats a table is read from, known by the file's extension.
public enum TableFormat: String, Codable, Sendable, CaseIterable {
    /// Comma-separated values with a header row (`.csv`; `.tsv` is tab-separated).
    case csv
    /// One NumPy array `n × d` (`.npy`), features only.
    case npy
    /// A NumPy archive (`.npz`) holding a feature array and, optionally, a label array.
    case npz

    /// The format of `path`, by its extension.
    /// - Throws: ``DataError/unsupported(path:message:)`` for any other extension.
    public init(path: String) throws {
        switch (path as NSString).pathExtension.lowercased() {
        case "csv", "tsv", "txt": self = .csv
        case "npy": self = .npy
        case "npz": self = .npz
        case let other:
            throw DataError.unsupported(path: path, message: "tables are read from .csv, .tsv, .npy or .npz files, not '.\(other)'")
        }
    }
}

/// How a table file becomes feature rows and, optionally, labels.
public struct TableReadOptions: Codable, Sendable, Equatable {
    /// The label column of a CSV file (nil: no labels, every row normal).
    public var labelColumn: String?
    /// The CSV columns used as features, in this order (nil: all but the label and the excluded ones).
    public var featureColumns: [String]?
    /// CSV columns left out.
    public var excludedColumns: [String] = []
    /// What a missing or NaN value does: stop with an error naming it, or take the training median.
    public var missingValues: MissingValuePolicy = .reject
    /// The feature array of an NPZ archive.
    public var featureArray = "X"
    /// The label array of an NPZ archive; read where the archive has it.
    public var labelArray = "y"

    /// Every option at its default.
    public init() {}

    /// The CSV reader's options for a file at `path` (tab-separated for `.tsv`).
    public func csvOptions(path: String) -> CSVTableOptions {
        var options = CSVTableOptions()
        options.labelColumn = labelColumn
        options.featureColumns = featureColumns
        options.excludedColumns = excludedColumns
        options.missingValues = missingValues
        if (path as NSString).pathExtension.lowercased() == "tsv" { options.delimiter = "\t" }
        return options
    }
}

/// A table read from a file: its rows, and the medians that filled its missing values.
public struct TableFile: Sendable {
    /// The rows, unscaled, with their labels where the file has them.
    public var table: NumericTable
    /// The format read.
    public var format: TableFormat
    /// Each feature's median over the rows that had a value, where ``TableReadOptions/missingValues``
    /// is ``MissingValuePolicy/median`` (nil otherwise).
    public var fillValues: [Float]?

    /// Reads a whole table file.
    ///
    /// With `trained` (a trained detector's description), a CSV file's features are the
    /// trained columns in the trained order, and missing values are filled with the
    /// training medians rather than with this file's own: test rows must be treated as
    /// the training rows were.
    /// - Throws: ``DataError`` naming the file, and the row and column of a bad value.
    public static func read(_ path: String, options: TableReadOptions, trained: TableDataDescription? = nil) throws -> TableFile {
        let format = try TableFormat(path: path)
        let url = URL(fileURLWithPath: path)
        switch format {
        case .csv:
            if let trained {
                var stream = try rows(of: path, trained: trained, labelColumn: options.labelColumn)
                var parts: [NumericTable] = []
                while let chunk = try stream.next(maxRows: 65_536) { parts.append(chunk) }
                return TableFile(table: try NumericTable(concatenating: parts, columnNames: trained.featureColumns, path: path),
                                 format: format, fillValues: trained.fillValues)
            }
            let (table, imputed) = try CSVTable.read(contentsOf: url, options: options.csvOptions(path: path))
            return TableFile(table: table, format: format, fillValues: imputed)
        case .npy:
            let array = try NumPyArray.read(contentsOf: url)
            return try numeric(features: array, labels: nil, path: path, options: options, fillValues: trained?.fillValues, format: format)
        case .npz:
            let archive = try NumPyArchive(contentsOf: url)
            let labels = archive.memberNames.contains(options.labelArray) ? try archive.array(named: options.labelArray) : nil
            return try numeric(features: try archive.array(named: options.featureArray), labels: labels,
                               path: path, options: options, fillValues: trained?.fillValues, format: format)
        }
    }

    /// The rows of a CSV file, a chunk at a time, with a trained detector's feature columns
    /// and medians: to score files of any length in bounded memory.
    public static func rows(of path: String, trained: TableDataDescription, labelColumn: String?) throws -> CSVRowStream {
        var options = trained.read.csvOptions(path: path)
        options.labelColumn = labelColumn
        options.featureColumns = trained.featureColumns
        return try CSVRowStream(contentsOf: URL(fileURLWithPath: path), options: options,
                                featureColumns: trained.featureColumns, fillValues: trained.fillValues)
    }

    /// A NumPy feature array `n × d` (and label vector `n`) as a table, its non-finite
    /// values refused or filled.
    static func numeric(features: NumPyArray, labels: NumPyArray?, path: String, options: TableReadOptions,
                        fillValues given: [Float]?, format: TableFormat) throws -> TableFile {
        guard features.shape.count == 2 else {
            throw DataError.malformed(path: path, message: "the feature array has shape \(features.shape); expected 2 axes, rows × features")
        }
        let (n, d) = (features.shape[0], features.shape[1])
        var values = features.scalars.map { Float($0) }
        var fill = given
        let columnNames = (0..<d).map { "x\($0)" }
        if fill == nil, options.missingValues == .median {
            fill = try CSVTable.columnMedians(values, columnNames: columnNames, path: path)
        }
        for i in 0..<n {
            for j in 0..<d where !values[i * d + j].isFinite {
                let value = values[i * d + j]
                // A double too large for Float is as unusable as an infinity.
                let what = value.isNaN ? "NaN" : features.scalars[i * d + j].isFinite ? "\(features.scalars[i * d + j]) (beyond Float's range)" : "\(value)"
                guard value.isNaN, let fill else {
                    let remedy = value.isNaN ? "; pass --impute median to fill missing values with the training median" : ""
                    throw DataError.malformed(path: path, message: "row \(i + 1), column \(j) holds \(what)\(remedy)")
                }
                values[i * d + j] = fill[j]
            }
        }
        var labelValues: [Int]?
        if let labels {
            guard labels.shape == [n] || labels.shape == [n, 1] else {
                throw DataError.malformed(path: path, message: "the label array has shape \(labels.shape); expected [\(n)], one label per row")
            }
            labelValues = try labels.asIntegers(path: "\(path):\(options.labelArray)")
        }
        let table = try NumericTable(columnNames: columnNames, values: values, labels: labelValues)
        return TableFile(table: table, format: format, fillValues: options.missingValues == .median ? fill : nil)
    }
}

/// How a detector's table rows were read and scaled: stored in its manifest, so that
/// `mocca score` and `mocca evaluate` read new files the same way.
public struct TableDataDescription: Codable, Sendable, Equatable {
    /// The options the training file was read with.
    public var read: TableReadOptions
    /// The feature columns, in the order the network takes them.
    public var featureColumns: [String]
    /// The training medians that fill missing values (with `--impute median`).
    public var fillValues: [Float]?
    /// The per-feature scaling fitted on the training rows.
    public var scaling: FeatureScaling

    /// A description from its parts.
    public init(read: TableReadOptions, featureColumns: [String], fillValues: [Float]?, scaling: FeatureScaling) {
        self.read = read
        self.featureColumns = featureColumns
        self.fillValues = fillValues
        self.scaling = scaling
    }
}

extension NumericTable {
    /// The rows of `parts`, in order, as one table.
    /// - Throws: ``DataError/malformed(path:message:)`` when the parts disagree on labels.
    public init(concatenating parts: [NumericTable], columnNames: [String], path: String) throws {
        let labelled = parts.filter { $0.labels != nil }.count
        guard labelled == 0 || labelled == parts.count else {
            throw DataError.malformed(path: path, message: "some chunks of rows have labels and others not")
        }
        try self.init(columnNames: columnNames, values: parts.flatMap(\.values),
                      labels: labelled == 0 ? nil : parts.flatMap { $0.labels ?? [] })
    }
}

/// Scaled table rows as samples, each named by its file and data row in errors and
/// reports ("flows.csv, data row 1,234"), also when a file is scored a chunk at a time.
public struct TableRows: SampleSource, @unchecked Sendable {
    /// The rows, scaled, `[rows, features]`.
    public let samples: Tensor
    /// Each row's label where known (0 normal, 1 anomaly).
    public let labels: [Int]?
    /// The file the rows came from.
    public let path: String
    /// The data row (from 1) of the first row held: chunks of a streamed file start later.
    public let firstRow: Int

    /// Rows of `table` scaled by `scaling`, the first of them data row `firstRow` of `path`.
    /// - Throws: as ``FeatureScaling/apply(to:path:)``.
    public init(_ table: NumericTable, scaling: FeatureScaling, path: String, firstRow: Int = 1, labels: [Int]? = nil) throws {
        samples = try scaling.apply(to: table, path: path)
        self.labels = labels
        self.path = path
        self.firstRow = firstRow
    }

    /// The number of rows.
    public var count: Int { samples.shape[0] }
    /// `[features]`.
    public var sampleShape: [Int] { [samples.shape[1]] }
    /// The rows at `indices`, copied.
    public func batch(_ indices: [Int]) throws -> Tensor { try samples.gatheringRows(indices) }
    /// The file and data row.
    public func origin(of index: Int) -> String { "\((path as NSString).lastPathComponent), data row \(firstRow + index)" }
}
