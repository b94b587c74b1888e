import Foundation
import MOCCACore

/// A clip: `length` consecutive frames of one video, from `start`.
public struct VideoClip: Sendable, Hashable {
    /// The video's index.
    public var video: Int
    /// The clip's first frame.
    public var start: Int
    /// Its number of frames.
    public var length: Int

    /// A clip from its parts.
    public init(video: Int, start: Int, length: Int) {
        self.video = video
        self.start = start
        self.length = length
    }

    /// The frames it covers.
    public var frames: Range<Int> { start..<(start + length) }
}

/// How clip pixels become sample values.
public enum ClipNormalization: String, Codable, Sendable, CaseIterable {
    /// `v / 255`, into `[0, 1]`, as ``ImageFiles`` does without a preprocessor.
    case unit
    /// `(v / 255 − 0.5) / 0.5`, into `[-1, 1]`, as the inspection pipeline's fixed
    /// normalisation (``InspectionPreprocessing/Normalization/fixed``) and the official
    /// MOCCA code's `Normalize(0.5, 0.5)` do.
    case symmetric
}

/// The clips of a set of videos, from a sliding window: a ``SampleSource`` of samples
/// `[C, T, H, W]`.
///
/// A video of `F` frames gives the clips starting at `0, s, 2s, …` up to `F − T`, plus one
/// flush with its end when the stride does not reach it, so that every frame is in some
/// clip: at stride 1 (for scoring) exactly `F − T + 1` clips. Clips are in video order,
/// then start order. A clip's group is its video; its label, where the videos have labels,
/// is 1 when any of its frames is anomalous. Frames come from a ``VideoFrameCache``, so a
/// frame shared by many clips is decoded once.
public struct VideoClips: SampleSource {
    /// The frames.
    public let cache: VideoFrameCache
    /// Frames per clip, `T`.
    public let length: Int
    /// Frames between the starts of consecutive clips of a video.
    public let stride: Int
    /// How pixel values are scaled.
    public let normalization: ClipNormalization
    /// Every clip, in sample order.
    public let clips: [VideoClip]

    /// The clips of `cache`'s videos.
    /// - Parameters:
    ///   - length: frames per clip (16 by default).
    ///   - stride: frames between clip starts (1, for testing, by default).
    ///   - normalization: ``ClipNormalization/symmetric`` (`[-1, 1]`) by default.
    /// - Throws: ``DataError/malformed(path:message:)`` for a length or stride below 1, and
    ///   naming the video, for a video with fewer frames than a clip.
    public init(_ cache: VideoFrameCache, length: Int = 16, stride: Int = 1, normalization: ClipNormalization = .symmetric) throws {
        guard length >= 1, stride >= 1 else {
            throw DataError.malformed(path: "video clips", message: "the clip length and stride must be at least 1, got \(length) and \(stride)")
        }
        var clips: [VideoClip] = []
        for (index, video) in cache.videos.enumerated() {
            guard video.frameCount >= length else {
                let folder = video.frames.first.map { ($0 as NSString).deletingLastPathComponent } ?? video.name
                throw DataError.malformed(path: folder, message: "video \(video.name) has \(video.frameCount) frames, fewer than a clip of \(length)")
            }
            clips += Self.starts(frameCount: video.frameCount, length: length, stride: stride).map { VideoClip(video: index, start: $0, length: length) }
        }
        self.cache = cache
        self.length = length
        self.stride = stride
        self.normalization = normalization
        self.clips = clips
    }

    /// The starts of the clips of a video of `frameCount` frames: every `stride` frames up
    /// to `frameCount − length`, plus `frameCount − length` when the stride misses it.
    /// Empty when the video is shorter than a clip.
    public static func starts(frameCount: Int, length: Int, stride: Int) -> [Int] {
        guard frameCount >= length else { return [] }
        var starts = Array(Swift.stride(from: 0, through: frameCount - length, by: stride))
        if starts.last != frameCount - length { starts.append(frameCount - length) }
        return starts
    }

    /// The number of clips.
    public var count: Int { clips.count }
    /// `[C, T, H, W]`.
    public var sampleShape: [Int] { [cache.options.channels, length, cache.options.height, cache.options.width] }
    /// Each clip's video.
    public var groups: [Int]? { clips.map(\.video) }
    /// Each clip's label, 1 when any of its frames is anomalous; nil unless every video has labels.
    public var labels: [Int]? {
        let labels = cache.videos.map(\.labels)
        guard labels.allSatisfy({ $0 != nil }) else { return nil }
        return clips.map { clip in labels[clip.video]![clip.frames].contains(where: { $0 != 0 }) ? 1 : 0 }
    }
    /// `video <name>, frames a–b` (0-based frame indices, inclusive).
    public func origin(of index: Int) -> String {
        let clip = clips[index]
        return "video \(cache.videos[clip.video].name), frames \(clip.start)–\(clip.start + clip.length - 1)"
    }

    /// The clips at `indices`, `[indices.count, C, T, H, W]`.
    /// - Throws: ``DataError`` naming the video and file of a frame that cannot be decoded.
    public func batch(_ indices: [Int]) throws -> Tensor {
        let channels = cache.options.channels, plane = cache.options.height * cache.options.width
        let clipSize = channels * length * plane
        let out = Tensor(zeros: [indices.count] + sampleShape)
        let base = out.unsafeScalarPointer
        // One value per byte: exactly `v / 255` or `(v − 127.5) / 127.5`.
        let table: [Float] = (0...255).map { normalization == .unit ? Float($0) / 255 : (Float($0) - 127.5) / 127.5 }
        for (row, index) in indices.enumerated() {
            let clip = clips[index]
            for t in 0..<length {
                let pixels = try cache.frame(video: clip.video, frame: clip.start + t)
                pixels.withUnsafeBufferPointer { source in
                    table.withUnsafeBufferPointer { value in
                        for c in 0..<channels {
                            let target = base + row * clipSize + (c * length + t) * plane
                            for p in 0..<plane { target[p] = value[Int(source[c * plane + p])] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// Each video's per-frame scores from one score per clip (in sample order): a frame's
    /// score is the mean of the scores of the clips that contain it
    /// (``VideoScores/frameScores(clipScores:clips:frameCounts:)``).
    /// - Throws: ``DataError/malformed(path:message:)`` when there is not one score per clip.
    public func frameScores(_ clipScores: [Float]) throws -> [[Float]] {
        try VideoScores.frameScores(clipScores: clipScores, clips: clips, frameCounts: cache.videos.map(\.frameCount))
    }

    /// Each video's per-frame scores from one score per clip and time step (in sample
    /// order): a frame's score is the mean, over the clips that contain it, of the clip's
    /// score at the frame's position in it
    /// (``VideoScores/frameScores(stepScores:clips:frameCounts:)``).
    /// - Throws: ``DataError/malformed(path:message:)`` when there is not one score per
    ///   clip and frame of the clip.
    public func frameScores(stepScores: [[Float]]) throws -> [[Float]] {
        try VideoScores.frameScores(stepScores: stepScores, clips: clips, frameCounts: cache.videos.map(\.frameCount))
    }
}
