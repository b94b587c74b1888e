import Foundation
import MOCCA
import MOCCACore
import MOCCATestSupport
import Testing

/// Detectors saved by earlier releases load and score as they did.
@Suite("Detectors of earlier releases")
struct LegacyDetectorTests {
    static let folder = Fixtures.directory.deletingLastPathComponent().appendingPathComponent("detectors/v0.1.0-demo-knn")

    @Test func aFormatOneDetectorLoadsWithItsNetworkTapsAndFusion() throws {
        let detector = try MOCCADetector.load(from: Self.folder)
        #expect(detector.configuration.network.name == "mnist-lenet")
        #expect(detector.resolvedNetwork.codeLength == 32)
        #expect(detector.configuration.taps == ["conv1", "conv2", "code"])
        #expect(detector.configuration.tapScore == .nearestNeighbor)
        // That release fused nearest-neighbour channels standardised, whatever the stored fusion said.
        #expect(detector.configuration.fusion == .standardized)
        #expect(detector.taps.allSatisfy { $0.scorer is NearestNeighborScorer })
        #expect(abs(detector.threshold - 0.676946) < 1e-6)
    }

    @Test func aFormatOneDetectorScoresImagesAsTheReleaseDid() throws {
        let detector = try MOCCADetector.load(from: Self.folder)
        let lines = try String(contentsOf: Self.folder.appendingPathComponent("scores.csv"), encoding: .utf8)
            .split(separator: "\n").dropFirst()
        let rows = lines.map { $0.split(separator: ",").map(String.init) }
        var pixels: [UInt8] = []
        for row in rows {
            pixels += try ImageDecoder.decode(path: Self.folder.appendingPathComponent(row[0]).path, channels: 1).pixels
        }
        let images = try ImageDataset(imageShape: [1, 28, 28], pixels: pixels, labels: rows.map { _ in 0 },
                                      classNames: ["x"], sources: rows.map { $0[0] })
        let scores = try detector.score(images)
        for (i, row) in rows.enumerated() {
            let expected = try #require(Float(row[1]))
            // Another host's kernels may round differently; the release's own figure is the yardstick.
            #expect(abs(scores.overall[i] - expected) <= 1e-4 * max(1, abs(expected)), "\(row[0]): \(scores.overall[i]) vs \(expected)")
            for k in 0..<3 {
                let channel = try #require(Float(row[2 + k]))
                #expect(abs(scores.perChannel[k][i] - channel) <= 1e-4 * max(1, abs(channel)), "\(row[0]) \(scores.channels[k])")
            }
            #expect((scores.overall[i] > detector.threshold) == (row[5] == "1"))
        }
    }
}
