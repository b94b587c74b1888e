import Foundation
import MOCCA
import MOCCACore
import MOCCAData
import MOCCATestSupport
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

    /// The frame-local reconstruction score that ``MOCCADetector/frameScores(_:localCell:)``
    /// gathers from its scoring batches is the pure function of the autoencoder's squared
    /// errors, clip by clip; the paper's scores do not change with it.
    @Test func frameScoresGatherTheLocalReconstructionErrorOfEveryClip() throws {
        var video = VideoAutoencoderConfiguration()
        (video.clipLength, video.height, video.width, video.codeLength, video.lstmHidden) = (8, 32, 32, 8, 4)
        var configuration = MOCCAConfiguration()
        configuration.network = try NetworkSpecification(video)
        configuration.taps = ["c2", "code"]
        (configuration.autoencoderEpochs, configuration.oneClassEpochs, configuration.batchSize) = (1, 1, 8)
        configuration.reconstructionChannel = true
        let detector = try MOCCADetector(configuration: configuration)
        try detector.fit(normal: Self.clips(count: 16, anomalous: false, seed: 4))

        // One video of 11 frames, a square drifting right: 4 clips of 8 at stride 1.
        let directory = try makeTemporaryDirectory("video-local")
        defer { try? FileManager.default.removeItem(at: directory) }
        let frames = try (0..<11).map { f in
            let url = directory.appendingPathComponent(String(format: "%03d.png", f))
            try writeBytes(makePNG(width: 32, height: 32, channels: 1, pixels: (0..<1024).map { i in (8..<16).contains(i / 32) && (f..<(f + 8)).contains(i % 32) ? 255 : 20 }), to: url)
            return url.path
        }
        let clips = try VideoClips(VideoFrameCache(videos: [Video(name: "v", frames: frames)], options: VideoFrameOptions(height: 32, width: 32)), length: 8)
        let scores = try detector.frameScores(clips, localCell: 8)
        #expect(scores.localCell == 8)

        let autoencoder = try #require(detector.autoencoder)
        autoencoder.eval()
        defer { autoencoder.train() }
        let errors = try withoutGradients { try autoencoder.squaredReconstructionErrors(clips.batch(Array(0..<clips.count))) }
        let steps = try VideoScores.localReconstructionErrors(squaredErrors: errors.scalars, shape: errors.shape, cell: 8)
        let expected = try clips.frameScores(stepScores: steps)
        let local = try #require(scores.localReconstruction)
        #expect(local.count == 1 && local[0].count == 11)
        for (a, b) in zip(local[0], expected[0]) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(local[0]) against \(expected[0])") }
        let combined = try #require(scores.combinedLocal)
        #expect(combined[0].allSatisfy { (0...2).contains($0) })
        // The reconstruction channel is the clip's summed squared error, as without the local score.
        #expect(try scores.reconstruction == clips.frameScores(#require(detector.score(clips).channel("reconstruction"))))
        #expect { try detector.frameScores(clips, localCell: 0) } throws: { "\($0)".contains("cell of at least 1 px") }
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
