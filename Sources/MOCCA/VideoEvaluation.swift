import MOCCACore
import MOCCAData

/// Per-frame scores of test videos, from clip scores as the paper computes them: a
/// frame's score is the mean of the scores of every clip that contains it.
public struct VideoFrameScores: Sendable {
    /// The videos, in order.
    public var videos: [String]
    /// The detector's own score per frame: its fusion of every channel.
    public var overall: [[Float]]
    /// The paper's one-class score per frame: the mean over taps of the squared distance
    /// to the tap's centroid (minus R² for a soft boundary), whatever the detector's own tap score.
    public var oneClass: [[Float]]
    /// The detector's own fused score of the taps (nearest-neighbour with the default recipe).
    public var taps: [[Float]]
    /// Each channel's score (each tap, then `reconstruction` where the detector has it).
    public var perChannel: [String: [[Float]]]
    /// The autoencoder's reconstruction error per frame, where the detector has that channel.
    public var reconstruction: [[Float]]? { perChannel["reconstruction"] }
    /// The frame-local reconstruction error per frame, where the detector has a
    /// reconstruction channel: the mean over the clips containing the frame of the largest
    /// cell mean of the squared error at the frame's step in the clip
    /// (``MOCCAData/VideoScores/localReconstructionErrors(squaredErrors:shape:cell:)``).
    public var localReconstruction: [[Float]]?
    /// The cell side, in pixels, of ``localReconstruction``; nil without it.
    public var localCell: Int?

    /// A series' frame scores, each video's min-max normalised to `[0, 1]` (the literature's
    /// frame-level protocol).
    public static func normalized(_ series: [[Float]]) -> [[Float]] { VideoScores.normalizedPerVideo(series) }

    /// The paper's combined score: the one-class and the reconstruction scores, each
    /// normalised within its video, summed; nil without a reconstruction channel.
    public var combined: [[Float]]? { reconstruction.map { Self.sum(Self.normalized(oneClass), Self.normalized($0)) } }

    /// The detector's own tap score combined with the reconstruction error the same way.
    public var combinedTaps: [[Float]]? { reconstruction.map { Self.sum(Self.normalized(taps), Self.normalized($0)) } }

    /// The one-class score and the frame-local reconstruction error, each normalised within
    /// its video, summed, as ``combined`` does with the clip's; nil without a
    /// reconstruction channel.
    public var combinedLocal: [[Float]]? { localReconstruction.map { Self.sum(Self.normalized(oneClass), Self.normalized($0)) } }

    static func sum(_ a: [[Float]], _ b: [[Float]]) -> [[Float]] { zip(a, b).map { zip($0, $1).map(+) } }
}

/// Frame-level metrics on labelled test videos: every series normalised within its
/// video, then all videos' frames concatenated.
public struct VideoEvaluation: Codable, Sendable {
    /// The paper's one-class score.
    public var oneClass: DetectionMetrics
    /// The detector's own fused tap score.
    public var taps: DetectionMetrics
    /// The reconstruction error, where the detector has that channel.
    public var reconstruction: DetectionMetrics?
    /// One-class plus reconstruction (the paper's combined score).
    public var combined: DetectionMetrics?
    /// The detector's own tap score plus reconstruction.
    public var combinedTaps: DetectionMetrics?
    /// The frame-local reconstruction error (``VideoFrameScores/localReconstruction``);
    /// nil without a reconstruction channel, and in evaluations written before it existed.
    public var localReconstruction: DetectionMetrics?
    /// One-class plus frame-local reconstruction (``VideoFrameScores/combinedLocal``); nil
    /// as ``localReconstruction``.
    public var combinedLocal: DetectionMetrics?
    /// The cell side, in pixels, of the frame-local reconstruction error; nil as
    /// ``localReconstruction``.
    public var localCell: Int?
    /// Each channel alone.
    public var perChannel: [String: DetectionMetrics]
    /// Frames scored, and how many of them are anomalous.
    public var frameCount: Int, anomalousFrames: Int
    /// The videos evaluated.
    public var videos: [String]

    /// The frame-level scores this evaluation has, in the order tables list them, each
    /// with a short name (the terminal's table) and a full one (the HTML report).
    public var namedScores: [(short: String, full: String, metrics: DetectionMetrics)] {
        let all: [(String, String, DetectionMetrics?)] = [
            ("combined (one-class + recon.)", "combined (one-class + reconstruction)", combined),
            ("one-class (paper)", "one-class (the paper's centroid score)", oneClass),
            ("reconstruction", "reconstruction error", reconstruction),
            ("taps (detector's own score)", "taps (the detector's own score)", taps),
            ("taps + reconstruction", "taps + reconstruction", combinedTaps),
            ("one-class + local recon.", "one-class + local reconstruction", combinedLocal),
            ("local reconstruction", "local reconstruction error", localReconstruction),
        ]
        return all.compactMap { short, full, metrics in metrics.map { (short, full, $0) } }
    }
}

extension MOCCADetector {
    /// The frame scores of every video of `clips` (clips of stride 1 cover every frame).
    ///
    /// With a reconstruction channel, the frame-local reconstruction error comes from the
    /// same pass: each batch's squared errors become one score per clip and time step
    /// (``MOCCAData/VideoScores/localReconstructionErrors(squaredErrors:shape:cell:)``), and
    /// only those are kept.
    /// - Parameter localCell: the cell side of the local score in pixels; by default
    ///   ``MOCCAData/VideoScores/defaultLocalCell(height:width:)`` of the clips' frames.
    /// - Throws: as ``score(_:)-(SampleSource)``, ``DataError`` when a frame is in no clip,
    ///   and ``MOCCAError/invalidConfiguration(_:)`` for a cell below 1.
    public func frameScores(_ clips: VideoClips, localCell: Int? = nil) throws -> VideoFrameScores {
        let shape = clips.sampleShape
        let cell = localCell ?? VideoScores.defaultLocalCell(height: shape[shape.count - 2], width: shape[shape.count - 1])
        guard cell >= 1 else { throw MOCCAError.invalidConfiguration("the local reconstruction score needs a cell of at least 1 px, got \(cell)") }
        var local: [[Float]]? = autoencoder == nil ? nil : Array(repeating: [], count: clips.count)
        let series = try scoreSeries(clips, squaredErrors: local == nil ? nil : { indices, errors in
            let steps = try VideoScores.localReconstructionErrors(squaredErrors: errors.scalars, shape: errors.shape, cell: cell)
            for (index, scores) in zip(indices, steps) { local?[index] = scores }
        })
        var perChannel: [String: [[Float]]] = [:]
        for (name, channel) in zip(series.scores.channels, series.scores.perChannel) { perChannel[name] = try clips.frameScores(channel) }
        return VideoFrameScores(videos: clips.cache.videos.map(\.name), overall: try clips.frameScores(series.scores.overall),
                                oneClass: try clips.frameScores(series.paper),
                                taps: try clips.frameScores(series.taps), perChannel: perChannel,
                                localReconstruction: try local.map { try clips.frameScores(stepScores: $0) }, localCell: local == nil ? nil : cell)
    }

    /// Frame-level AUROC and friends on labelled test videos.
    /// - Parameter localCell: the cell side of the frame-local reconstruction error, as in
    ///   ``frameScores(_:localCell:)``.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` when a video has no frame labels or
    ///   the frames are all normal or all anomalous.
    public func evaluate(video clips: VideoClips, localCell: Int? = nil) throws -> (VideoEvaluation, VideoFrameScores) {
        let videos = clips.cache.videos
        if let unlabelled = videos.first(where: { $0.labels == nil }) {
            throw MOCCAError.invalidEvaluation("video \(unlabelled.name) has no frame labels to evaluate against")
        }
        let labels: [Int] = videos.flatMap { video in (video.labels ?? []).map { $0 == 0 ? 0 : 1 } }
        let scores = try frameScores(clips, localCell: localCell)
        // A video's frames are far from independent: the AUROC's interval counts videos.
        let groups = videos.indices.flatMap { Array(repeating: $0, count: videos[$0].labels?.count ?? 0) }
        func metrics(_ series: [[Float]]) throws -> DetectionMetrics {
            try DetectionMetrics(scores: VideoFrameScores.normalized(series).flatMap { $0 }, labels: labels, groups: groups)
        }
        func summed(_ series: [[Float]]) throws -> DetectionMetrics {
            try DetectionMetrics(scores: series.flatMap { $0 }, labels: labels, groups: groups)
        }
        let evaluation = VideoEvaluation(
            oneClass: try metrics(scores.oneClass), taps: try metrics(scores.taps),
            reconstruction: try scores.reconstruction.map(metrics),
            combined: try scores.combined.map(summed), combinedTaps: try scores.combinedTaps.map(summed),
            localReconstruction: try scores.localReconstruction.map(metrics), combinedLocal: try scores.combinedLocal.map(summed),
            localCell: scores.localCell, perChannel: try scores.perChannel.mapValues(metrics),
            frameCount: labels.count, anomalousFrames: labels.filter { $0 == 1 }.count, videos: scores.videos)
        return (evaluation, scores)
    }
}
