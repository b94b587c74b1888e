import Foundation
import MOCCACore
@testable import MOCCAData
import Testing

/// Feature scaling and the benchmark's one-class split of tables.
@Suite("Table preparation")
struct TablePreparationTests {
    static func table(_ rows: [[Float]], labels: [Int]? = nil) throws -> NumericTable {
        try NumericTable(columnNames: (0..<(rows.first?.count ?? 0)).map { "c\($0)" }, values: rows.flatMap { $0 }, labels: labels)
    }

    @Test func standardScalingUsesTheMeanAndPopulationDeviation() throws {
        let t = try Self.table([[1, 10, 5], [3, 10, 5], [5, 10, 5], [7, 10, 6]])
        let s = try FeatureScaling.fit(t, method: .standard)
        #expect(s.centres == [4, 10, 5.25])
        // Population deviation of 1, 3, 5, 7: sqrt(5).
        #expect(abs(s.scales[0] - Float(5.0.squareRoot())) < 1e-6)
        #expect(s.constantFeatures == [1])
        #expect(s.scales[1] == 1)
        let scaled = try s.apply(to: t, path: "t").scalars
        #expect(abs(scaled[0] - (1 - 4) / Float(5.0.squareRoot())) < 1e-6)
        // A constant feature is centred, never divided by zero.
        #expect(scaled[1] == 0)
        #expect(scaled.allSatisfy { $0.isFinite })
    }

    @Test func robustScalingUsesTheMedianAndInterquartileRange() throws {
        // Column 0: 1...8 and an outlier; column 1: mostly zero with two ones (IQR 0, but it varies).
        let rows: [[Float]] = [[1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0], [7, 1], [8, 1], [1000, 0]]
        let s = try FeatureScaling.fit(Self.table(rows), method: .robust)
        #expect(s.centres[0] == 5)
        // NumPy: np.percentile([1..8, 1000], 75) - np.percentile(..., 25) = 7 - 3.
        #expect(s.scales[0] == 4)
        #expect(s.centres[1] == 0)
        // The zero IQR falls back to the standard deviation: sqrt(2/9 - (2/9)^2).
        let p = 2.0 / 9.0
        #expect(abs(Double(s.scales[1]) - (p - p * p).squareRoot()) < 1e-6)
        #expect(s.constantFeatures.isEmpty)
    }

    @Test func scalingRefusesATableOfAnotherWidth() throws {
        let s = try FeatureScaling.fit(Self.table([[1, 2], [3, 4]]))
        #expect(throws: DataError.self) { try s.apply(to: Self.table([[1, 2, 3]]), path: "test.csv") }
        #expect(throws: DataError.self) { try FeatureScaling.fit(NumericTable(columnNames: ["a"], values: [], labels: nil)) }
    }

    @Test func scalingSurvivesAJSONRoundTrip() throws {
        let s = try FeatureScaling.fit(Self.table([[1, 5], [2, 5], [4, 5]]), method: .robust)
        let decoded = try JSONDecoder().decode(FeatureScaling.self, from: JSONEncoder().encode(s))
        #expect(decoded == s)
    }

    @Test func oneClassSplitTrainsOnSeventyPercentOfTheNormalRows() throws {
        let labels = (0..<100).map { $0 % 10 == 0 ? 1 : 0 }   // 90 normal, 10 anomalies
        let split = try TableSplit.oneClass(labels: labels, seed: 3, path: "t")
        #expect(split.train.count == 63)
        #expect(split.train.allSatisfy { labels[$0] == 0 })
        #expect(split.test.count == 37)
        #expect(split.test.filter { labels[$0] == 1 }.count == 10)
        #expect(Set(split.train).isDisjoint(with: split.test))
        #expect(split.train == split.train.sorted() && split.test == split.test.sorted())
        // Seeded: the same seed gives the same rows, another seed others.
        #expect(try TableSplit.oneClass(labels: labels, seed: 3, path: "t") == split)
        #expect(try TableSplit.oneClass(labels: labels, seed: 4, path: "t") != split)
    }

    @Test func oneClassSplitCapsTheTrainingRowsAndDropsTheRest() throws {
        let labels = [Int](repeating: 0, count: 1000) + [1, 1]
        let split = try TableSplit.oneClass(labels: labels, seed: 0, maximumTrainingRows: 100, path: "t")
        #expect(split.train.count == 100)
        // 300 normal rows (the 30%) and both anomalies test; the 600 capped rows are unused.
        #expect(split.test.count == 302)
        #expect(throws: DataError.self) { try TableSplit.oneClass(labels: [1, 1, 0], seed: 0, path: "t") }
    }
}
