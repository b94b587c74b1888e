import MOCCACore
import Testing

@Suite("Nearest-neighbour distances")
struct NearestNeighborTests {
    /// References on a line at 0, 1, 3, 7 (in the first coordinate).
    static let references = try! Tensor(shape: [4, 2], scalars: [0, 0, 1, 0, 3, 0, 7, 0])

    @Test func kthNearestDistancesMatchHandComputedValues() throws {
        let queries = try Tensor(shape: [2, 2], scalars: [2, 0, 3, 4])
        // From (2, 0): distances 2, 1, 1, 5. From (3, 4): √25 = 5, √20, 4, √32.
        let first = try queries.nearestNeighborDistances(to: Self.references, k: 1).scalars
        let second = try queries.nearestNeighborDistances(to: Self.references, k: 2).scalars
        let third = try queries.nearestNeighborDistances(to: Self.references, k: 3).scalars
        #expect(isClose(first, [1, 4]))
        #expect(isClose(second, [1, Float(20).squareRoot()]))
        #expect(isClose(third, [2, 5]))
    }

    @Test func leaveOneOutSkipsEachQuerysOwnRow() throws {
        // Rows 1 and 2 of the references (1 and 3) queried against all four.
        let queries = try Tensor(shape: [2, 2], scalars: [1, 0, 3, 0])
        let included = try queries.nearestNeighborDistances(to: Self.references, k: 1).scalars
        let skipped = try queries.nearestNeighborDistances(to: Self.references, k: 1, selfOffset: 1).scalars
        #expect(isClose(included, [0, 0]))
        #expect(isClose(skipped, [1, 2]))
    }

    @Test func skipListSkipsAnyRowPerQuery() throws {
        // (1, 0) skips reference 0 (its nearest), (3, 0) skips nothing, (7, 0) skips itself (row 3).
        let queries = try Tensor(shape: [3, 2], scalars: [1, 0, 3, 0, 7, 0])
        let distances = try queries.nearestNeighborDistances(to: Self.references, k: 1, skipping: [0, -1, 3]).scalars
        #expect(isClose(distances, [0, 0, 4]))
        #expect(throws: TensorError.self) { try queries.nearestNeighborDistances(to: Self.references, k: 1, skipping: [0]) }
    }

    /// Far from the origin, `‖q‖² + ‖r‖² − 2 q·r` cancels catastrophically: rows that are
    /// equal, or a hair apart, must still measure their true distance on every host.
    @Test func nearDuplicatesFarFromTheOriginMeasureTheirTrueDistance() throws {
        var generator = RandomGenerator(seed: 3)
        let base = (0..<128).map { _ in 3 + generator.nextNormal() }   // squared norm about 1,300
        var rows: [Float] = []
        for copy in 0..<16 { rows += base.enumerated().map { $0.offset == 5 && copy == 15 ? $0.element + 1e-3 : $0.element } }
        let references = try Tensor(shape: [16, 128], scalars: rows)
        let distances = try references.nearestNeighborDistances(to: references, k: 1, selfOffset: 0).scalars
        #expect(distances.dropLast().allSatisfy { $0 == 0 }, "\(distances)")
        // The last row is 1e-3 from every other: measured directly, not lost in the expansion's rounding.
        #expect(abs(distances[15] - 1e-3) < 1e-5, "\(distances[15])")
    }

    @Test func agreesWithABruteForceSearchOnRandomData() throws {
        var generator = RandomGenerator(seed: 7)
        let queries = Tensor.normal(shape: [37, 11], using: &generator)
        let references = Tensor.normal(shape: [53, 11], using: &generator)
        let (q, r) = (queries.scalars, references.scalars)
        for k in [1, 4] {
            let distances = try queries.nearestNeighborDistances(to: references, k: k).scalars
            for i in 0..<37 {
                let all = (0..<53).map { j in Self.distance(q, i, r, j, width: 11) }.sorted()
                #expect(abs(distances[i] - all[k - 1]) < 1e-4 * max(1, all[k - 1]))
            }
        }
    }

    @Test func badArgumentsThrow() throws {
        let queries = try Tensor(shape: [1, 2], scalars: [0, 0])
        #expect(throws: TensorError.self) { try queries.nearestNeighborDistances(to: Self.references, k: 0) }
        #expect(throws: TensorError.self) { try queries.nearestNeighborDistances(to: Self.references, k: 5) }
        #expect(throws: TensorError.self) { try queries.nearestNeighborDistances(to: Self.references, k: 4, selfOffset: 0) }
        #expect(throws: TensorError.self) { try queries.nearestNeighborDistances(to: Self.references, selfOffset: 4) }
        #expect(throws: TensorError.self) { try Tensor(zeros: [1, 3]).nearestNeighborDistances(to: Self.references) }
    }

    private static func distance(_ a: [Float], _ i: Int, _ b: [Float], _ j: Int, width: Int) -> Float {
        var sum: Float = 0
        for c in 0..<width {
            let difference = a[i * width + c] - b[j * width + c]
            sum += difference * difference
        }
        return sum.squareRoot()
    }

    private func isClose(_ a: [Float], _ b: [Float]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-5 }
    }
}
