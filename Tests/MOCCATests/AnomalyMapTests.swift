import MOCCA
import MOCCAData
import Testing

@Suite("Anomaly maps")
struct AnomalyMapTests {
    @Test func eachPixelIsTheMeanOfThePatchesCoveringIt() {
        // Two 4-px patches on a 6-px line of rows: origins 0 and 2 overlap on rows/columns 2..<4.
        let origins = [(y: 0, x: 0), (y: 0, x: 2), (y: 2, x: 0), (y: 2, x: 2)]
        let map = AnomalyMap.assemble(patchScores: [1, 2, 3, 4], origins: origins, patchSize: 4, side: 6)
        #expect(map[0] == 1 && map[5] == 2 && map[30] == 3 && map[35] == 4)
        #expect(map[2 * 6 + 2] == 2.5)          // covered by all four
        #expect(map[0 * 6 + 2] == 1.5)          // covered by the top two
    }

    /// Patch maps placed back: each patch's 2×2 map covers its 4×4 pixels; where patches
    /// overlap, a pixel takes their mean.
    @Test func localPatchMapsArePlacedBackOnTheirImage() throws {
        let store = InspectionImageStore([InspectionImage(path: "/none.png")], preprocessing: InspectionPreprocessing(channels: 1, imageSize: 8, patchSize: 4))
        // Patch k (row-major: top left, top right, bottom left, bottom right) scores k + 1 everywhere
        // but its own top-left location, which scores 10 × (k + 1).
        var values: [Float] = []
        for k in 0..<4 {
            let score = Float(k + 1)
            values += [10 * score, score, score, score]
        }
        let grid = try LocalMaps(height: 2, width: 2, values: values).assembled(on: InspectionPatches(store))
        #expect(grid.height == 8 && grid.width == 8 && grid.footprint == 2)
        #expect(grid.values[0] == 10 && grid.values[3] == 1 && grid.values[7] == 2 && grid.values[7 * 8] == 3 && grid.values[63] == 4)
        #expect(grid.values[4 * 8 + 4] == 40, "the bottom-right patch's top-left location")

        var overlapping = InspectionPreprocessing(channels: 1, imageSize: 8, patchSize: 4, scoringStride: 2)
        overlapping.augmentation = nil
        let patches = InspectionPatches(InspectionImageStore([InspectionImage(path: "/none.png")], preprocessing: overlapping))
        var constant: [Float] = []
        for k in 0..<patches.patchesPerImage { constant += [Float](repeating: Float(k), count: 4) }
        let flat = try LocalMaps(height: 2, width: 2, values: constant).assembled(on: patches)
        // Pixel (2, 2) lies in patches 0, 1, 3 and 4 of the 3×3 grid: the mean of their scores.
        let expected: Float = (0 + 1 + 3 + 4) / 4
        #expect(flat.values[2 * 8 + 2] == expected)
    }

    /// A defect painted into a synthetic image: the patches over it score high, and the
    /// smoothed, resized map peaks inside the defect.
    @Test func aPaintedDefectLandsUnderTheMapsMaximum() throws {
        var p = InspectionPreprocessing(channels: 1, imageSize: 64, patchSize: 16, scoringStride: 8)
        p.augmentation = nil
        let origins = p.scoringOrigins
        let defect = (y: 40..<48, x: 10..<18)
        // Each patch scores the fraction of the defect it covers, plus a little texture noise.
        let patchScores: [Float] = origins.enumerated().map { k, origin in
            let ys = max(origin.y, defect.y.lowerBound)..<max(max(origin.y, defect.y.lowerBound), min(origin.y + 16, defect.y.upperBound))
            let xs = max(origin.x, defect.x.lowerBound)..<max(max(origin.x, defect.x.lowerBound), min(origin.x + 16, defect.x.upperBound))
            return Float(ys.count * xs.count) / 64 + Float(k % 3) * 0.01
        }
        let scores = InspectionScores(images: [patchScores.max() ?? 0], channels: ["t"], imagesPerChannel: [[0]], patches: patchScores,
                                      patchesPerImage: origins.count, paperImages: [0])
        for side in [64, 32] {
            let map = try AnomalyMap.map(ofImage: 0, scores: scores, preprocessing: p, side: side)
            let peak = try #require(map.indices.max { map[$0] < map[$1] })
            let scale = 64 / side
            #expect(defect.y.contains((peak / side) * scale) && defect.x.contains((peak % side) * scale), "peak at \(peak / side), \(peak % side) of \(side)")
        }
    }
}
