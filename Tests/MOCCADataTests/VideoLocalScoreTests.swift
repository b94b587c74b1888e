import MOCCACore
import MOCCAData
import Testing

/// The frame-local reconstruction score: the pooled maximum of a clip's error map per time
/// step, and frame scores from one score per clip and step.
@Suite("Video local reconstruction scores")
struct VideoLocalScoreTests {
    /// Squared errors `[N, C, T, H, W]`, zero except where `values` says, keyed by
    /// `[n, c, t, y, x]`.
    static func errors(shape: [Int], _ values: [[Int]: Float]) -> [Float] {
        var errors = [Float](repeating: 0, count: shape.reduce(1, *))
        for (at, value) in values {
            errors[(((at[0] * shape[1] + at[1]) * shape[2] + at[2]) * shape[3] + at[3]) * shape[4] + at[4]] = value
        }
        return errors
    }

    @Test func theLargestCellMeanPerStepMatchesValuesWorkedByHand() throws {
        // Two clips of 2 channels, 2 steps, 3×5 frames; cells of 2 px: rows {0, 1} and {2},
        // columns {0, 1}, {2, 3} and {4}, so the last row and column are ragged.
        let shape = [2, 2, 2, 3, 5]
        var values: [[Int]: Float] = [:]
        // Clip 0, step 0: the top-left cell's channel mean is (1 + 3) / 2 = 2 at each of its
        // 4 pixels: 2. The 1-px corner cell (2, 4) has channel mean 6 / 2 = 3: 3, the largest
        // (averaged over a full 2×2 cell it would be 0.75 and lose to 2).
        for (y, x) in [(0, 0), (0, 1), (1, 0), (1, 1)] { values[[0, 0, 0, y, x]] = 1; values[[0, 1, 0, y, x]] = 3 }
        values[[0, 0, 0, 2, 4]] = 6
        // Clip 0, step 1: cell (0, 1) has one pixel of channel mean 4 among 4: 1. The 2×1
        // cell (1, 0) (row 2, columns 0–1) has channel means 3 and 1: 2, the largest.
        values[[0, 0, 1, 0, 2]] = 8
        values[[0, 0, 1, 2, 0]] = 2; values[[0, 1, 1, 2, 0]] = 4; values[[0, 0, 1, 2, 1]] = 2
        // Clip 1: the same error everywhere: every cell's mean is that error.
        var errors = Self.errors(shape: shape, values)
        for i in (errors.count / 2)..<errors.count { errors[i] = 5 }
        let local = try VideoScores.localReconstructionErrors(squaredErrors: errors, shape: shape, cell: 2)
        #expect(local == [[3, 2], [5, 5]])
        // One cell as large as the frame: the frame's mean squared error.
        let whole = try VideoScores.localReconstructionErrors(squaredErrors: errors, shape: shape, cell: 5)
        #expect(abs(whole[0][0] - (4 * 2 + 3) / 15) < 1e-6 && whole[1] == [5, 5])
        // A cell of 1 px: the largest channel mean.
        #expect(try VideoScores.localReconstructionErrors(squaredErrors: errors, shape: shape, cell: 1)[0] == [3, 4])
    }

    @Test func badShapesAndCellsAreRefused() throws {
        #expect(throws: DataError.self) { try VideoScores.localReconstructionErrors(squaredErrors: [0, 0], shape: [1, 1, 1, 1, 1], cell: 1) }
        #expect(throws: DataError.self) { try VideoScores.localReconstructionErrors(squaredErrors: [0], shape: [1, 1, 1, 1], cell: 1) }
        #expect(throws: DataError.self) { try VideoScores.localReconstructionErrors(squaredErrors: [0], shape: [1, 1, 1, 1, 1], cell: 0) }
        #expect(try VideoScores.localReconstructionErrors(squaredErrors: [], shape: [0, 1, 2, 4, 4], cell: 2).isEmpty)
    }

    @Test func theDefaultCellIsAnEighthOfTheShorterSide() {
        #expect(VideoScores.defaultLocalCell(height: 64, width: 64) == 8)
        #expect(VideoScores.defaultLocalCell(height: 64, width: 96) == 8)
        #expect(VideoScores.defaultLocalCell(height: 240, width: 360) == 30)
        #expect(VideoScores.defaultLocalCell(height: 4, width: 32) == 1)
    }

    @Test func stepScoresAverageOverFewerClipsAtTheVideoEnds() throws {
        // 5 frames, clips of 3 at stride 1 (starts 0, 1, 2): frame 0 is step 0 of clip 0
        // only, frame 2 steps 2, 1, 0 of all three, frame 4 step 2 of clip 2 only.
        let clips = VideoClips.starts(frameCount: 5, length: 3, stride: 1).map { VideoClip(video: 0, start: $0, length: 3) }
        let steps: [[Float]] = [[1, 2, 3], [10, 20, 30], [100, 200, 300]]
        #expect(try VideoScores.frameScores(stepScores: steps, clips: clips, frameCounts: [5]) == [[1, 6, 41, 115, 300]])
        // The same score at every step is the clip-score path.
        let constant: [Float] = [4, 2, 6]
        #expect(try VideoScores.frameScores(stepScores: constant.map { [$0, $0, $0] }, clips: clips, frameCounts: [5])
                == VideoScores.frameScores(clipScores: constant, clips: clips, frameCounts: [5]))
        #expect { try VideoScores.frameScores(stepScores: Array(steps.prefix(2)), clips: clips, frameCounts: [5]) } throws: {
            "\($0)".contains("2 scores for 3 clips")
        }
        #expect { try VideoScores.frameScores(stepScores: [[1, 2, 3], [1, 2], [1, 2, 3]], clips: clips, frameCounts: [5]) } throws: {
            "\($0)".contains("clip 1 has 2 step scores for its 3 frames")
        }
        #expect { try VideoScores.frameScores(stepScores: Array(steps.prefix(2)), clips: Array(clips.prefix(2)), frameCounts: [5]) } throws: {
            "\($0)".contains("frame 4 of video 0")
        }
    }

    /// An error painted into one 4×4 cell of frame 20 of a 40-frame video over faint noise:
    /// the local score singles the frame out, the clip-mean score hardly moves from its
    /// neighbours (their clips share 15 of their 16 frames with its clips).
    @Test func anErrorInOneCellOfOneFrameStandsOutLocallyButNotInTheClipMean() throws {
        let (frames, length, side, painted) = (40, 16, 32, 20)
        var generator = RandomGenerator(seed: 7)
        var frameErrors = (0..<frames).map { _ in (0..<(side * side)).map { _ in 0.02 * generator.nextUniform() } }
        for y in 8..<12 { for x in 12..<16 { frameErrors[painted][y * side + x] = 1 } }
        let clips = VideoClips.starts(frameCount: frames, length: length, stride: 1).map { VideoClip(video: 0, start: $0, length: length) }
        // A clip's error map at step t is its frame's: [N, 1, T, H, W].
        let errors = clips.flatMap { clip in clip.frames.flatMap { frameErrors[$0] } }
        let shape = [clips.count, 1, length, side, side]
        let cell = VideoScores.defaultLocalCell(height: side, width: side)
        let local = try VideoScores.frameScores(
            stepScores: VideoScores.localReconstructionErrors(squaredErrors: errors, shape: shape, cell: cell), clips: clips, frameCounts: [frames])[0]
        let clipSums = clips.map { clip in clip.frames.reduce(Float(0)) { $0 + frameErrors[$1].reduce(0, +) } }
        let clipMean = try VideoScores.frameScores(clipScores: clipSums, clips: clips, frameCounts: [frames])[0]

        #expect(cell == 4)
        #expect(local.indices.max(by: { local[$0] < local[$1] }) == painted)
        for neighbour in [painted - 1, painted + 1] {
            #expect(local[neighbour] < 0.05 * local[painted], "\(local[neighbour]) against \(local[painted])")
            #expect(abs(clipMean[painted] - clipMean[neighbour]) < 0.02 * clipMean[painted], "\(clipMean[neighbour]) against \(clipMean[painted])")
        }
    }
}
