import Foundation
import MOCCA
import MOCCACore
import Testing

/// The video network with no detector change: `video-c3d` takes clips `[N, C, T, H, W]`
/// through fit, score, save and load like the image and vector networks, its LSTM heads
/// trained in the one-class phase and saved with the detector.
@Suite("Detector on video clips (video-c3d)", .serialized)
struct VideoDetectorTests {
    /// Clips of a bright square drifting right one pixel a frame (normal), or the same
    /// square jumping about at random (anomalous), over faint noise.
    static func clips(count: Int, anomalous: Bool, seed: UInt64) throws -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let (frames, side) = (8, 32)
        var values = [Float](repeating: 0, count: count * frames * side * side)
        for n in 0..<count {
            var (row, column) = (Int(generator.nextUniform() * 20), Int(generator.nextUniform() * 12))
            for t in 0..<frames {
                if anomalous { (row, column) = (Int(generator.nextUniform() * 24), Int(generator.nextUniform() * 24)) }
                let base = (n * frames + t) * side * side
                for i in 0..<(side * side) { values[base + i] = 0.05 * generator.nextUniform() }
                for r in row..<(row + 8) { for c in (column + t)..<(column + t + 8) where c < side { values[base + r * side + c] = 1 } }
            }
        }
        return try Tensor(shape: [count, 1, frames, side, side], scalars: values)
    }

    @Test func fitScoreSaveAndLoadClips() throws {
        var video = VideoAutoencoderConfiguration()
        (video.clipLength, video.height, video.width, video.codeLength, video.lstmHidden) = (8, 32, 32, 8, 4)
        var configuration = MOCCAConfiguration()
        configuration.network = try NetworkSpecification(video)
        configuration.taps = ["c2", "fc1", "code"]
        configuration.autoencoderEpochs = 2
        configuration.oneClassEpochs = 2
        configuration.batchSize = 8
        let detector = try MOCCADetector(configuration: configuration)
        try detector.fit(normal: Self.clips(count: 24, anomalous: false, seed: 1))

        let test = try Tensor.concatenate([Self.clips(count: 4, anomalous: false, seed: 2), Self.clips(count: 4, anomalous: true, seed: 3)], alongAxis: 0)
        let scores = try detector.score(test)
        #expect(scores.channels == ["c2", "fc1", "code"])
        #expect(scores.overall.count == 8 && scores.overall.allSatisfy(\.isFinite))
        #expect(scores.perChannel.allSatisfy { $0.count == 8 && $0.allSatisfy(\.isFinite) })

        let directory = try makeTemporaryDirectory("video-detector")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("clips.mocca")
        try detector.save(to: url)
        let loaded = try MOCCADetector.load(from: url)
        #expect(loaded.configuration == detector.configuration)
        let after = try loaded.score(test)
        #expect(after.overall == scores.overall)
        #expect(after.perChannel == scores.perChannel)
    }

    /// An evaluation written before the frame-local reconstruction score still decodes,
    /// the new metrics absent.
    @Test func anOlderVideoEvaluationDecodesWithoutTheLocalScores() throws {
        let metrics = #"{"auroc": 0.8, "aupr": 0.5, "maxBalancedAccuracy": 0.75, "maxF1": 0.6}"#
        let json = """
            {"oneClass": \(metrics), "taps": \(metrics), "reconstruction": \(metrics), "combined": \(metrics),
             "combinedTaps": \(metrics), "perChannel": {"code": \(metrics)}, "frameCount": 12, "anomalousFrames": 6, "videos": ["01"]}
            """
        let evaluation = try JSONDecoder().decode(VideoEvaluation.self, from: Data(json.utf8))
        #expect(evaluation.combined?.auroc == 0.8 && evaluation.frameCount == 12 && evaluation.videos == ["01"])
        #expect(evaluation.localReconstruction == nil && evaluation.combinedLocal == nil && evaluation.localCell == nil)
        // And the new fields round-trip.
        var current = evaluation
        (current.localReconstruction, current.combinedLocal, current.localCell) = (evaluation.oneClass, evaluation.taps, 8)
        let decoded = try JSONDecoder().decode(VideoEvaluation.self, from: JSONEncoder().encode(current))
        #expect(decoded.localReconstruction == current.localReconstruction && decoded.combinedLocal == current.combinedLocal && decoded.localCell == 8)
    }
}
