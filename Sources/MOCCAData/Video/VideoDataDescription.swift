/// How a video detector's clips were made: stored in its manifest, so that scoring and
/// evaluation cut test videos into clips exactly as training did.
public struct VideoDataDescription: Codable, Sendable, Equatable {
    /// The data set's root folder (ShanghaiTech's layout).
    public var root: String
    /// Frame size, channels and background removal.
    public var frames: VideoFrameOptions
    /// Frames per clip.
    public var clipLength: Int
    /// How frame bytes became clip values.
    public var normalization: ClipNormalization

    /// A description from its parts.
    public init(root: String, frames: VideoFrameOptions, clipLength: Int, normalization: ClipNormalization) {
        self.root = root
        self.frames = frames
        self.clipLength = clipLength
        self.normalization = normalization
    }

    /// Test clips (stride 1, every frame covered) of `videos`, made as training made its clips.
    public func clips(of videos: [Video]) throws -> VideoClips {
        try VideoClips(VideoFrameCache(videos: videos, options: frames), length: clipLength, stride: 1, normalization: normalization)
    }
}
