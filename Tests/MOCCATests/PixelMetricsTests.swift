import MOCCA
import Testing

@Suite("Pixel metrics and PRO")
struct PixelMetricsTests {
    /// Three 12×10 maps with quantised (tied) scores; masks with a 12-pixel region, a
    /// diagonal pair (one region under 8-connectivity), a 49-pixel region, and a normal
    /// image. Built as `case()` in the reference script in the doc comment below.
    static func fixture() -> (maps: [[Float]], masks: [[UInt8]]) {
        let width = 12, height = 10
        var maps: [[Float]] = [], masks: [[UInt8]] = []
        for n in 0..<3 {
            var map = [Float](repeating: 0, count: width * height)
            for y in 0..<height {
                for x in 0..<width { map[y * width + x] = Float((x * 7 + y * 13 + n * 5) % 17) / 4 }
            }
            maps.append(map)
            masks.append([UInt8](repeating: 0, count: width * height))
        }
        for y in 1..<4 { for x in 1..<5 { masks[0][y * width + x] = 1 } }
        masks[0][6 * width + 8] = 1
        masks[0][7 * width + 9] = 1
        for y in 2..<9 { for x in 3..<10 { masks[1][y * width + x] = 1 } }
        for n in 0..<2 {
            for p in 0..<(width * height) where masks[n][p] != 0 { maps[n][p] += 1.5 }
        }
        return (maps, masks)
    }

    /// Expected values from MVTec AD's `compute_pro` and `trapezoid` (transcribed into
    /// NumPy, with a breadth-first 8-connected `label` in place of scipy's) and the
    /// Mann–Whitney AUROC with average ranks, on ``fixture()``.
    @Test(arguments: [(0.3, 0.5025316997980138), (0.05, 0.4157853245464853), (1.0, 0.7650150408086914)])
    func matchesMVTecsEvaluationCode(limit: Double, expected: Double) throws {
        let (maps, masks) = Self.fixture()
        let metrics = try PixelMetrics(maps: maps, masks: masks, width: 12, height: 10, fprLimit: limit)
        #expect(abs(metrics.pro - expected) < 1e-9)
        #expect(abs(metrics.pixel.auroc - 0.7861685639463417) < 1e-12)
        #expect(metrics.regionCount == 3)
        #expect(metrics.anomalousPixelCount == 12 + 2 + 49)
        #expect(metrics.normalPixelCount == 3 * 120 - 63)
    }

    @Test func aPerfectMapScoresOneAndAnInvertedMapZero() throws {
        let (_, masks) = Self.fixture()
        let perfect = masks.map { $0.map { Float($0) } }
        let best = try PixelMetrics(maps: perfect, masks: masks, width: 12, height: 10)
        #expect(best.pixel.auroc == 1)
        #expect(abs(best.pro - 1) < 1e-12)
        #expect(best.pixel.maxBalancedAccuracy == 1)

        let inverted = masks.map { $0.map { Float(1 - Int($0)) } }
        let worst = try PixelMetrics(maps: inverted, masks: masks, width: 12, height: 10)
        #expect(worst.pixel.auroc == 0)
        #expect(worst.pro == 0)
    }

    /// Two regions, 1 and 9 pixels, with only the small one found at a threshold that
    /// passes no normal pixel: PRO weighs it as half the defects, pixel recall as a tenth.
    @Test func proWeighsRegionsEquallyWhateverTheirSize() throws {
        let width = 5, height = 5
        var mask = [UInt8](repeating: 0, count: 25), map = [Float](repeating: 0, count: 25)
        mask[0] = 1
        map[0] = 2
        for y in 2..<5 { for x in 2..<5 { mask[y * width + x] = 1 } }
        // The large region scores below every normal pixel: it is found only at FPR 1.
        for y in 2..<5 { for x in 2..<5 { map[y * width + x] = -1 } }
        let metrics = try PixelMetrics(maps: [map], masks: [mask], width: width, height: height, fprLimit: 0.3)
        // The curve: (0, 0) → (0, ½) at score 2 → (1, ½) at score 0 → (1, 1); up to 0.3
        // it is ½ from FPR 0, so the normalised area is ½.
        #expect(abs(metrics.pro - 0.5) < 1e-12)
        #expect(metrics.regionCount == 2)
        // Pixel AUROC: 1 of 10 anomalous pixels above all 15 normal ones, 9 below all.
        #expect(abs(metrics.pixel.auroc - 0.1) < 1e-12)
    }

    @Test func regionsAreEightConnectedAndNumberedInRasterOrder() {
        let mask: [UInt8] = [
            1, 0, 0, 1,
            0, 1, 0, 1,
            0, 0, 0, 0,
            1, 1, 0, 1,
        ]
        let (labels, count) = PixelMetrics.regions(of: mask, width: 4, height: 4)
        #expect(count == 4)
        #expect(labels == [
            1, 0, 0, 2,
            0, 1, 0, 2,
            0, 0, 0, 0,
            3, 3, 0, 4,
        ])
    }

    @Test func refusesMismatchedOrUnusableInput() {
        let map = [Float](repeating: 0, count: 4), mask: [UInt8] = [1, 0, 0, 0]
        #expect(throws: MOCCAError.self) { try PixelMetrics(maps: [map], masks: [], width: 2, height: 2) }
        #expect(throws: MOCCAError.self) { try PixelMetrics(maps: [map], masks: [mask], width: 3, height: 2) }
        #expect(throws: MOCCAError.self) { try PixelMetrics(maps: [map], masks: [[0, 0, 0, 0]], width: 2, height: 2) }
        #expect(throws: MOCCAError.self) { try PixelMetrics(maps: [[0, .nan, 0, 0]], masks: [mask], width: 2, height: 2) }
        #expect(throws: MOCCAError.self) { try PixelMetrics(maps: [map], masks: [mask], width: 2, height: 2, fprLimit: 0) }
    }

    /// The pixel sweep and the per-sample ``DetectionMetrics`` are one computation: on
    /// the same pixels as samples they agree in every metric.
    @Test func pixelMetricsAgreeWithDetectionMetricsOnThePixelsAsSamples() throws {
        let (maps, masks) = Self.fixture()
        let metrics = try PixelMetrics(maps: maps, masks: masks, width: 12, height: 10)
        let samples = try DetectionMetrics(scores: maps.flatMap { $0 }, labels: masks.flatMap { $0.map { $0 == 0 ? 0 : 1 } })
        #expect(abs(metrics.pixel.auroc - samples.auroc) < 1e-12)
        #expect(abs(metrics.pixel.aupr - samples.aupr) < 1e-12)
        #expect(metrics.pixel.maxBalancedAccuracy == samples.maxBalancedAccuracy)
        #expect(metrics.pixel.maxF1 == samples.maxF1)
    }

    /// The pixel AUROC's standard error counts maps (or their groups), not pixels: it is the
    /// clustered estimator of ``DetectionMetrics`` on the pixels as samples grouped by map.
    @Test func pixelAUROCIntervalCountsImagesOrTheirGroups() throws {
        let (maps, masks) = Self.fixture()
        let scores: [Float] = maps.flatMap { $0 }
        let labels: [Int] = masks.flatMap { mask in mask.map { $0 == 0 ? 0 : 1 } }
        let byMap: [Int] = maps.indices.flatMap { [Int](repeating: $0, count: 120) }
        let metrics = try PixelMetrics(maps: maps, masks: masks, width: 12, height: 10)
        let grouped = try DetectionMetrics(scores: scores, labels: labels, groups: byMap)
        let se = try #require(metrics.pixel.aurocStandardError)
        #expect(abs(se - (try #require(grouped.aurocStandardError))) < 1e-12)
        #expect(metrics.pixel.aurocGroupCount == 3)
        let independent = try #require(try DetectionMetrics(scores: scores, labels: labels).aurocStandardError)
        #expect(abs(se - independent) > 1e-3, "the pixels were counted as independent")

        // Maps 0 and 1 photographed from one object: a single group holds every defect, so
        // no interval can be claimed; a group count that does not match is refused.
        let tiles = try PixelMetrics(maps: maps, masks: masks, width: 12, height: 10, groups: [7, 7, 9])
        #expect(tiles.pixel.aurocStandardError == nil && tiles.pixel.aurocGroupCount == 2)
        #expect(throws: MOCCAError.self) { try PixelMetrics(maps: maps, masks: masks, width: 12, height: 10, groups: [0, 1]) }

        // One pixel per map: every map its own unit, DeLong's estimator on the pixels.
        let single = try PixelMetrics(maps: scores.map { [$0] }, masks: labels.map { [UInt8($0)] }, width: 1, height: 1)
        #expect(abs((try #require(single.pixel.aurocStandardError)) - independent) < 1e-12)
    }

    @Test func rocCurveRunsFromTheOriginToOneOne() throws {
        let curve = try DetectionMetrics.rocCurve(scores: [0.1, 0.4, 0.35, 0.8], labels: [0, 0, 1, 1])
        #expect(curve.map(\.fpr) == [0, 0, 0.5, 0.5, 1])
        #expect(curve.map(\.tpr) == [0, 0.5, 0.5, 1, 1])
    }
}
