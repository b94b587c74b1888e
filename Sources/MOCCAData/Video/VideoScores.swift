/// Frame scores from clip scores, and their per-video normalisation: pure functions.
public enum VideoScores {
    /// Each video's per-frame scores from per-clip scores: a frame's score is the mean of
    /// the scores of all clips that contain it (summed in `Double`).
    /// - Parameters:
    ///   - clipScores: one score per clip, in the order of `clips`.
    ///   - clips: the scored clips (``VideoClips/clips``).
    ///   - frameCounts: each video's number of frames.
    /// - Returns: one array per video, one score per frame.
    /// - Throws: ``DataError/malformed(path:message:)`` when the counts differ, a clip lies
    ///   outside its video, or a frame is in no clip (naming the video and frame).
    public static func frameScores(clipScores: [Float], clips: [VideoClip], frameCounts: [Int]) throws -> [[Float]] {
        guard clipScores.count == clips.count else {
            throw DataError.malformed(path: "clip scores", message: "\(clipScores.count) scores for \(clips.count) clips")
        }
        var sums = frameCounts.map { [Double](repeating: 0, count: $0) }
        var counts = frameCounts.map { [Int](repeating: 0, count: $0) }
        for (clip, score) in zip(clips, clipScores) {
            guard frameCounts.indices.contains(clip.video), clip.start >= 0, clip.length >= 1, clip.start + clip.length <= frameCounts[clip.video] else {
                throw DataError.malformed(path: "clip scores", message: "a clip of video \(clip.video) at frames \(clip.start)..<\(clip.start + clip.length) lies outside the videos")
            }
            for frame in clip.frames {
                sums[clip.video][frame] += Double(score)
                counts[clip.video][frame] += 1
            }
        }
        return try sums.indices.map { video in
            try sums[video].indices.map { frame in
                guard counts[video][frame] > 0 else {
                    throw DataError.malformed(path: "clip scores", message: "frame \(frame) of video \(video) is in no clip, so it has no score")
                }
                return Float(sums[video][frame] / Double(counts[video][frame]))
            }
        }
    }

    /// `scores` min-max scaled to `[0, 1]`: `(s − min) / (max − min)`. A constant array
    /// (or one of a single score) becomes all zeros rather than NaN.
    public static func minMaxNormalized(_ scores: [Float]) -> [Float] {
        guard let low = scores.min(), let high = scores.max(), high > low else { return scores.map { _ in 0 } }
        let range = Double(high) - Double(low)
        return scores.map { Float((Double($0) - Double(low)) / range) }
    }

    /// Each video's scores min-max scaled on their own (``minMaxNormalized(_:)``), as the
    /// video anomaly-detection literature evaluates frame scores.
    public static func normalizedPerVideo(_ scores: [[Float]]) -> [[Float]] {
        scores.map(minMaxNormalized)
    }
}
