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

    /// A series' frame scores, each video's min-max normalised to `[0, 1]` (the literature's
    /// frame-level protocol).
    public static func normalized(_ series: [[Float]]) -> [[Float]] { VideoScores.normalizedPerVideo(series) }

    /// The paper's combined score: the one-class and the reconstruction scores, each
    /// normalised within its video, summed; nil without a reconstruction channel.
    public var combined: [[Float]]? { reconstruction.map { Self.sum(Self.normalized(oneClass), Self.normalized($0)) } }

    /// The detector's own tap score combined with the reconstruction error the same way.
    public var combinedTaps: [[Float]]? { reconstruction.map { Self.sum(Self.normalized(taps), Self.normalized($0)) } }

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
    /// Each channel alone.
    public var perChannel: [String: DetectionMetrics]
    /// Frames scored, and how many of them are anomalous.
    public var frameCount: Int, anomalousFrames: Int
    /// The videos evaluated.
    public var videos: [String]
}

extension MOCCADetector {
    /// The frame scores of every video of `clips` (clips of stride 1 cover every frame).
    /// - Throws: as ``score(_:)-(SampleSource)``, and ``DataError`` when a frame is in no clip.
    public func frameScores(_ clips: VideoClips) throws -> VideoFrameScores {
        let series = try scoreSeries(clips)
        var perChannel: [String: [[Float]]] = [:]
        for (name, channel) in zip(series.scores.channels, series.scores.perChannel) { perChannel[name] = try clips.frameScores(channel) }
        return VideoFrameScores(videos: clips.cache.videos.map(\.name), overall: try clips.frameScores(series.scores.overall),
                                oneClass: try clips.frameScores(series.paper),
                                taps: try clips.frameScores(series.taps), perChannel: perChannel)
    }

    /// Frame-level AUROC and friends on labelled test videos.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` when a video has no frame labels or
    ///   the frames are all normal or all anomalous.
    public func evaluate(video clips: VideoClips) throws -> (VideoEvaluation, VideoFrameScores) {
        let videos = clips.cache.videos
        if let unlabelled = videos.first(where: { $0.labels == nil }) {
            throw MOCCAError.invalidEvaluation("video \(unlabelled.name) has no frame labels to evaluate against")
        }
        let labels: [Int] = videos.flatMap { video in (video.labels ?? []).map { $0 == 0 ? 0 : 1 } }
        let scores = try frameScores(clips)
        func metrics(_ series: [[Float]]) throws -> DetectionMetrics {
            try DetectionMetrics(scores: VideoFrameScores.normalized(series).flatMap { $0 }, labels: labels)
        }
        let evaluation = VideoEvaluation(
            oneClass: try metrics(scores.oneClass), taps: try metrics(scores.taps),
            reconstruction: try scores.reconstruction.map(metrics),
            combined: try scores.combined.map { try DetectionMetrics(scores: $0.flatMap { $0 }, labels: labels) },
            combinedTaps: try scores.combinedTaps.map { try DetectionMetrics(scores: $0.flatMap { $0 }, labels: labels) },
            perChannel: try scores.perChannel.mapValues(metrics),
            frameCount: labels.count, anomalousFrames: labels.filter { $0 == 1 }.count, videos: scores.videos)
        return (evaluation, scores)
    }
}
