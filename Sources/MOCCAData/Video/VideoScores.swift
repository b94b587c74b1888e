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
        return try frameScores(clips: clips, frameCounts: frameCounts) { clip, _ in clipScores[clip] }
    }

    /// Each video's per-frame scores from one score per clip and time step: a frame's score
    /// is the mean, over the clips that contain it, of the clip's score at the frame's
    /// position in the clip (summed in `Double`). With the same score at every step of a
    /// clip this is ``frameScores(clipScores:clips:frameCounts:)``.
    /// - Parameters:
    ///   - stepScores: one array per clip, in the order of `clips`, of one score per frame
    ///     of the clip (``VideoClip/length``).
    ///   - clips: the scored clips (``VideoClips/clips``).
    ///   - frameCounts: each video's number of frames.
    /// - Returns: one array per video, one score per frame.
    /// - Throws: ``DataError/malformed(path:message:)`` when the counts differ, a clip lies
    ///   outside its video, or a frame is in no clip (naming the video and frame).
    public static func frameScores(stepScores: [[Float]], clips: [VideoClip], frameCounts: [Int]) throws -> [[Float]] {
        guard stepScores.count == clips.count else {
            throw DataError.malformed(path: "clip scores", message: "\(stepScores.count) scores for \(clips.count) clips")
        }
        if let bad = clips.indices.first(where: { stepScores[$0].count != clips[$0].length }) {
            throw DataError.malformed(path: "clip scores", message: "clip \(bad) has \(stepScores[bad].count) step scores for its \(clips[bad].length) frames")
        }
        return try frameScores(clips: clips, frameCounts: frameCounts) { clip, step in stepScores[clip][step] }
    }

    /// The mean over the clips containing each frame of `score(clip, step)`, `step` the
    /// frame's position in the clip.
    private static func frameScores(clips: [VideoClip], frameCounts: [Int], score: (Int, Int) -> Float) throws -> [[Float]] {
        var sums = frameCounts.map { [Double](repeating: 0, count: $0) }
        var counts = frameCounts.map { [Int](repeating: 0, count: $0) }
        for (index, clip) in clips.enumerated() {
            guard frameCounts.indices.contains(clip.video), clip.start >= 0, clip.length >= 1, clip.start + clip.length <= frameCounts[clip.video] else {
                throw DataError.malformed(path: "clip scores", message: "a clip of video \(clip.video) at frames \(clip.start)..<\(clip.start + clip.length) lies outside the videos")
            }
            for (step, frame) in clip.frames.enumerated() {
                sums[clip.video][frame] += Double(score(index, step))
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

    /// The default cell side of the local reconstruction score
    /// (``localReconstructionErrors(squaredErrors:shape:cell:)``): an eighth of the
    /// frame's shorter side, at least 1 (8 px at 64×64 or 64×96). Small enough that an
    /// object covers whole cells, large enough that a cell's mean is not one pixel's noise:
    /// at 64×96 a UCSD Ped2 frame (240×360) shrinks by 3.75, a cell stands for 30 original
    /// pixels, and a cyclist or a cart, a few tens of pixels across, covers a few cells
    /// rather than being averaged over the whole frame.
    public static func defaultLocalCell(height: Int, width: Int) -> Int { max(1, min(height, width) / 8) }

    /// The frame-local reconstruction error of clips: for each clip and time step `t`, the
    /// squared error averaged over channels, then over non-overlapping `cell × cell` cells
    /// of the frame (from the top-left corner), and the largest cell mean. Where the
    /// frame's side is not a multiple of `cell`, the last row or column of cells is
    /// narrower and each such cell is the mean of the pixels it has.
    /// - Parameters:
    ///   - squaredErrors: the squared reconstruction errors of `N` clips, `[N, C, T, H, W]`
    ///     row-major (`(reconstruction − clip)²`, element by element).
    ///   - shape: `[N, C, T, H, W]`.
    ///   - cell: the cell side in pixels, at least 1 (``defaultLocalCell(height:width:)``).
    /// - Returns: one array per clip of `T` scores, `r(clip, t)`.
    /// - Throws: ``DataError/malformed(path:message:)`` when the shape is not five sizes
    ///   (`C`, `T`, `H`, `W` positive) matching the number of values, or the cell is below 1.
    public static func localReconstructionErrors(squaredErrors: [Float], shape: [Int], cell: Int) throws -> [[Float]] {
        guard shape.count == 5, shape[0] >= 0, shape.dropFirst().allSatisfy({ $0 >= 1 }), shape.reduce(1, *) == squaredErrors.count, cell >= 1 else {
            throw DataError.malformed(path: "reconstruction errors", message: "need [N, C, T, H, W] errors and a cell of at least 1 px; got \(squaredErrors.count) values of shape \(shape), cell \(cell)")
        }
        let (count, channels, steps, height, width) = (shape[0], shape[1], shape[2], shape[3], shape[4])
        let plane = height * width, (rows, columns) = ((height + cell - 1) / cell, (width + cell - 1) / cell)
        var cellSums = [Double](repeating: 0, count: rows * columns)
        return (0..<count).map { n in
            (0..<steps).map { t in
                for i in cellSums.indices { cellSums[i] = 0 }
                for c in 0..<channels {
                    let base = ((n * channels + c) * steps + t) * plane
                    for y in 0..<height {
                        let row = (y / cell) * columns, line = base + y * width
                        for x in 0..<width { cellSums[row + x / cell] += Double(squaredErrors[line + x]) }
                    }
                }
                var largest = -Double.infinity
                for r in 0..<rows {
                    let cellHeight = min(cell, height - r * cell)
                    for k in 0..<columns {
                        let pixels = cellHeight * min(cell, width - k * cell)
                        largest = max(largest, cellSums[r * columns + k] / Double(pixels * channels))
                    }
                }
                return Float(largest)
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
