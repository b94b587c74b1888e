import ArgumentParser
import Foundation
import MOCCA
import MOCCACore
import MOCCAData
import MOCCAModels

extension MissingValuePolicy: ExpressibleByArgument {}
extension FeatureScaling.Method: ExpressibleByArgument {}

/// How a table file is read, scaled and fed to the `mlp` network (`--dataset table`).
struct TableOptions: ParsableArguments {
    @Option(help: "The label column of a CSV table (0 normal, any other integer an anomaly); training keeps the rows labelled 0. NPZ archives hold labels in --arrays' second array.")
    var labelColumn: String?
    @Option(help: "Comma-separated CSV columns to use as features, in this order (default: all but the label and --exclude).")
    var features: String?
    @Option(help: "Comma-separated CSV columns to leave out.")
    var exclude: String?
    @Option(help: "Missing or NaN values: reject (an error naming the row and column) or median (filled with the training rows' median, which the detector keeps for scoring).")
    var impute: MissingValuePolicy = .reject
    @Option(help: "Per-feature scaling fitted on the normal training rows: standard (mean, standard deviation) or robust (median, interquartile range).")
    var scaling: FeatureScaling.Method = .standard
    @Option(help: "The NPZ arrays holding features and labels.")
    var arrays = "X,y"
    @Option(help: "Comma-separated hidden-layer widths of the mlp network (default: 64, then the code of --code-length, 32).")
    var hiddenSizes: String?
    @Flag(help: "Put a (non-affine) BatchNorm after each hidden layer of the mlp network.")
    var batchNorm = false
    @Option(help: "A labelled table to evaluate on after training (same columns as --data).")
    var test: String?

    /// Whether any option of the group was given (they apply to `--dataset table` only).
    var isSet: Bool {
        labelColumn != nil || features != nil || exclude != nil || impute != .reject || scaling != .standard || arrays != "X,y"
            || hiddenSizes != nil || batchNorm || test != nil
    }

    /// The reader's options.
    func readOptions() throws -> TableReadOptions {
        var options = TableReadOptions()
        options.labelColumn = labelColumn
        options.featureColumns = features.map(splitList)
        options.excludedColumns = exclude.map(splitList) ?? []
        options.missingValues = impute
        let names = splitList(arrays)
        guard names.count == 2 else { throw ValidationError("--arrays \(arrays): give two array names, features then labels (e.g. X,y)") }
        (options.featureArray, options.labelArray) = (names[0], names[1])
        return options
    }

    /// The `mlp` fields the options and a table of `features` columns decide.
    func networkFields(features: Int) throws -> [String: JSONValue] {
        try mlpFields(features: features, hiddenSizes: hiddenSizes, batchNorm: batchNorm)
    }

    func validate() throws {
        _ = try readOptions()
        _ = try networkFields(features: 1)
        if let test {
            guard FileManager.default.fileExists(atPath: test) else { throw ValidationError("--test \(test): no such file") }
            do { _ = try TableFormat(path: test) } catch { throw ValidationError("--test \(error)") }
        }
    }
}

/// The `mlp` network's fields for `features` inputs, `--hidden-sizes` (comma-separated,
/// checked) and `--batch-norm`.
func mlpFields(features: Int, hiddenSizes: String?, batchNorm: Bool) throws -> [String: JSONValue] {
    var fields: [String: JSONValue] = ["inputFeatures": .number(Double(features))]
    if batchNorm { fields["batchNorm"] = .bool(true) }
    if let hiddenSizes {
        let widths = try integers(hiddenSizes, "--hidden-sizes")
        guard !widths.isEmpty, widths.allSatisfy({ $0 > 0 }) else { throw ValidationError("--hidden-sizes \(hiddenSizes): give positive widths, e.g. 64,32") }
        fields["hiddenSizes"] = .array(widths.map { .number(Double($0)) })
    }
    return fields
}

/// The training rows of a table file: the rows labelled 0 where there are labels, else all.
/// - Throws: `CommandFailure` when no row is normal.
func normalRows(of file: TableFile, path: String) throws -> NumericTable {
    guard let labels = file.table.labels else { return file.table }
    let normal = labels.indices.filter { labels[$0] == 0 }
    guard !normal.isEmpty else {
        throw CommandFailure("\(path): none of its \(labels.count) rows is labelled 0 (normal); a detector trains on normal rows")
    }
    return try file.table.rows(normal)
}

/// Reads a table, fits its scaling on the normal rows and trains a detector on them.
func trainTableDetector(data: DataOptions, table: TableOptions, method: MethodOptions, allowDivergence: Bool) throws -> MOCCADetector {
    let start = Date()
    let read = try table.readOptions()
    let file = try TableFile.read(data.data, options: read)
    let normal = try normalRows(of: file, path: data.data)
    let scaling = try FeatureScaling.fit(normal, method: table.scaling)
    let configuration = try method.configuration(defaultNetwork: data.dataset.defaultNetwork,
                                                 networkFields: try table.networkFields(features: normal.columnCount))
    let detector = try MOCCADetector(configuration: configuration)
    let description = TableDataDescription(read: read, featureColumns: normal.columnNames, fillValues: file.fillValues, scaling: scaling)
    detector.trainingData = TrainingDataDescription(
        dataset: DatasetKind.table.rawValue, path: URL(fileURLWithPath: data.data).standardizedFileURL.path, normalClass: "0",
        classNames: ["normal", "anomaly"], imageShape: [normal.columnCount], table: description)
    let constant = scaling.constantFeatures.map { normal.columnNames[$0] }
    printError(String(format: "read %d rows × %d features from %@ in %.1f s; training on %d normal rows", file.table.rowCount,
                      normal.columnCount, data.data, Date().timeIntervalSince(start), normal.rowCount)
               + (constant.isEmpty ? "" : "; constant in training, left unscaled: \(constant.joined(separator: ", "))"))
    try fit(detector, on: TableRows(normal, scaling: scaling, path: data.data), allowDivergence: allowDivergence)
    return detector
}

/// A labelled table file, read and scaled as `detector` was trained.
/// - Throws: `CommandFailure` when the file has no labels.
func labelledRows(_ path: String, detector: MOCCADetector, description: TableDataDescription, labelColumn: String?) throws -> TableRows {
    var options = description.read
    options.labelColumn = labelColumn ?? description.read.labelColumn
    let file = try TableFile.read(path, options: options, trained: description)
    guard let labels = file.table.labels else {
        throw CommandFailure("\(path) has no labels to evaluate against: give --label-column (CSV) or an NPZ archive with a '\(options.labelArray)' array")
    }
    return try TableRows(file.table, scaling: description.scaling, path: path, labels: labels.map { $0 == 0 ? 0 : 1 })
}
extension Precision: ExpressibleByArgument {}
