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
