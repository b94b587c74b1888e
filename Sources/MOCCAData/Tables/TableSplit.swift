import MOCCACore

/// The seeded one-class split of a labelled table, as the ADBench benchmark uses it: a
/// share of the normal rows train; the remaining normal rows and every anomaly test.
///
/// Very large sets (donors, http, cover: hundreds of thousands of rows) would make one
/// benchmark run take hours, so the training rows are capped by a seeded subsample. The
/// normal rows left out by the cap are used nowhere: moving them to the test part would
/// change its normal-to-anomaly ratio with the cap. Every method of a benchmark sees the
/// same rows (the split is written out for the PyOD script).
public struct TableSplit: Codable, Sendable, Equatable {
    /// The training rows (all normal), as row indices of the table, in ascending order.
    public var train: [Int]
    /// The test rows, normal and anomalous, in ascending order.
    public var test: [Int]

    /// The share of normal rows trained on.
    public static let trainFraction = 0.7
    /// The most training rows kept.
    public static let maximumTrainingRows = 10_000

    /// A split from its parts.
    public init(train: [Int], test: [Int]) {
        self.train = train
        self.test = test
    }

    /// Splits rows by `labels` (0 normal, anything else an anomaly), seeded.
    /// - Throws: ``DataError/emptyClass(_:path:)`` when there are fewer than two normal rows.
    public static func oneClass(labels: [Int], seed: UInt64, trainFraction: Double = trainFraction,
                                maximumTrainingRows: Int = maximumTrainingRows, path: String) throws -> TableSplit {
        let normal = labels.indices.filter { labels[$0] == 0 }
        guard normal.count >= 2 else { throw DataError.emptyClass("normal (label 0)", path: path) }
        var generator = RandomGenerator(seed: seed)
        let shuffled = generator.permutation(normal.count).map { normal[$0] }
        let trainCount = min(max(1, Int((trainFraction * Double(normal.count)).rounded())), normal.count - 1)
        let train = Array(shuffled[..<min(trainCount, maximumTrainingRows)]).sorted()
        let test = (Array(shuffled[trainCount...]) + labels.indices.filter { labels[$0] != 0 }).sorted()
        return TableSplit(train: train, test: test)
    }
}

extension NumericTable {
    /// The rows at `indices`, in that order, with their labels.
    public func rows(_ indices: [Int]) throws -> NumericTable {
        let d = columnCount
        var values = [Float]()
        values.reserveCapacity(indices.count * d)
        for i in indices { values += row(i) }
        return try NumericTable(columnNames: columnNames, values: values, labels: labels.map { l in indices.map { l[$0] } })
    }
}
