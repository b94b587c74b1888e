import Foundation

/// LSA-style background removal: each video's background is the per-pixel median of its
/// frames, and a frame keeps only the pixels that differ from it by more than a threshold
/// (the rest become 0), the kept region widened by a few pixels.
///
/// As in LSA's (Abati et al., CVPR 2019) ShanghaiTech pipeline: a pixel is foreground when
/// the absolute difference to the background, summed over channels, exceeds the threshold
/// (LSA: 128 over three channels); here the threshold is per channel, the sum divided by
/// the channel count, so that one setting serves grey and colour (the default 43 is LSA's
/// 128 / 3). The mask is then dilated with the 4-neighbour cross, as SciPy's
/// `binary_dilation` does, ``dilation`` times. Everything is computed on the resized frames.
public struct BackgroundRemoval: Codable, Sendable, Equatable {
    /// A pixel is kept when its absolute difference to the background, averaged over
    /// channels, is above this many grey levels.
    public var threshold: Int
    /// How many times the kept region is dilated by one pixel (4-neighbour cross).
    public var dilation: Int
    /// The most frames, evenly spaced over the video, whose median is the background.
    public var medianFrames: Int

    /// A background removal with the given constants.
    public init(threshold: Int = 43, dilation: Int = 1, medianFrames: Int = 100) {
        self.threshold = threshold
        self.dilation = dilation
        self.medianFrames = medianFrames
    }
}

/// How frames are decoded for a video detector: channels, size, resize filter and
/// optional background removal. Stored with a detector so that scoring sees what
/// training saw.
public struct VideoFrameOptions: Codable, Sendable, Equatable {
    /// Channels decoded to (1 grey, 3 RGB).
    public var channels: Int
    /// The frame size after resizing, in pixels.
    public var height: Int, width: Int
    /// The resize filter (``ImageResizer/Filter/area`` by default: the usual choice when shrinking).
    public var filter: ImageResizer.Filter
    /// Background removal, off (nil) by default.
    public var backgroundRemoval: BackgroundRemoval?

    /// Frames of `channels` channels resized to `height × width`.
    public init(channels: Int = 1, height: Int = 64, width: Int = 64, filter: ImageResizer.Filter = .area,
                backgroundRemoval: BackgroundRemoval? = nil) {
        self.channels = channels
        self.height = height
        self.width = width
        self.filter = filter
        self.backgroundRemoval = backgroundRemoval
    }

    /// Bytes of one decoded frame: `C × H × W`.
    public var frameBytes: Int { channels * height * width }

    /// Throws ``DataError/malformed(path:message:)`` naming the first bad field.
    public func validate() throws {
        func fail(_ message: String) -> DataError { .malformed(path: "the video frame options", message: message) }
        guard channels == 1 || channels == 3 else { throw fail("channels must be 1 or 3, got \(channels)") }
        guard (1...8192).contains(height), (1...8192).contains(width) else { throw fail("the frame size must be 1 to 8192 pixels, got \(width)x\(height)") }
        if let removal = backgroundRemoval {
            guard (0...255).contains(removal.threshold) else { throw fail("the background threshold must be 0 to 255 grey levels, got \(removal.threshold)") }
            guard removal.dilation >= 0 else { throw fail("the background dilation must be at least 0, got \(removal.dilation)") }
            guard removal.medianFrames >= 1 else { throw fail("the background needs at least 1 frame, got \(removal.medianFrames)") }
        }
    }
}

/// The frames of a set of videos, each decoded once, resized to ``VideoFrameOptions`` and
/// kept as `[C, H, W]` bytes, up to a budget.
///
/// Frames are kept in the order they are first asked for until their bytes reach
/// ``budgetBytes``; past it, a frame is decoded again each time it is needed (nothing
/// is evicted, nothing is written to disk). Memory stays bounded for any length of video,
/// and a data set that fits (UCSD Ped2, 4,560 frames, is 19 MB at 64×64 grey, 75 MB at
/// 128×128) is decoded exactly once. Re-decoding rather than a cache file on disk: a
/// 360×240 JPEG decodes and resizes in well under a millisecond, about what reading the
/// same bytes back from a cold disk costs, without a file to place, size and remove.
///
/// With background removal, each video's background (one frame) is kept as well,
/// outside the budget.
///
/// Every frame of a video must have the size of its first frame; the first frame is
/// decoded first to learn it. Safe to use from the batch-loading thread and the caller's
/// at once.
public final class VideoFrameCache: @unchecked Sendable {
    /// The default budget of kept frame bytes: 512 MiB.
    public static let defaultBudgetBytes = 512 << 20

    /// The videos, in index order.
    public let videos: [Video]
    /// How frames are decoded.
    public let options: VideoFrameOptions
    /// The most frame bytes kept.
    public let budgetBytes: Int
    /// The flat index of each video's first frame (the key of its frames in the cache).
    private let offsets: [Int]
    private var kept: [Int: [UInt8]] = [:]
    private var keptBytes = 0
    private var firstSizes: [Int: (width: Int, height: Int)] = [:]
    private var backgrounds: [Int: [UInt8]] = [:]
    private let lock = NSLock()

    /// A cache over `videos`; nothing is decoded until asked for.
    /// - Throws: ``DataError/malformed(path:message:)`` for bad options or a video without frames.
    public init(videos: [Video], options: VideoFrameOptions = VideoFrameOptions(), budgetBytes: Int = VideoFrameCache.defaultBudgetBytes) throws {
        try options.validate()
        if let empty = videos.first(where: { $0.frames.isEmpty }) {
            throw DataError.malformed(path: empty.name, message: "video \(empty.name) has no frames")
        }
        self.videos = videos
        self.options = options
        self.budgetBytes = max(0, budgetBytes)
        var offsets: [Int] = [], total = 0
        for video in videos {
            offsets.append(total)
            total += video.frameCount
        }
        self.offsets = offsets
    }

    /// The total number of frames of all videos.
    public var frameCount: Int { videos.reduce(0) { $0 + $1.frameCount } }
    /// Bytes of frames kept now.
    public var cachedBytes: Int { lock.withLock { keptBytes } }
    /// Frames kept now.
    public var cachedFrameCount: Int { lock.withLock { kept.count } }

    /// The bytes `[C, H, W]` of frame `frame` of video `video`, decoded, resized and (when
    /// enabled) background-removed.
    /// - Throws: ``DataError`` naming the video and the file when it cannot be decoded or
    ///   its size differs from the video's first frame.
    public func frame(video: Int, frame: Int) throws -> [UInt8] {
        let key = offsets[video] + frame
        if let pixels = lock.withLock({ kept[key] }) { return pixels }
        var pixels = try decode(video: video, frame: frame)
        if options.backgroundRemoval != nil {
            pixels = removeBackground(pixels, background: try background(video: video))
        }
        lock.withLock {
            if kept[key] == nil, keptBytes + pixels.count <= budgetBytes {
                kept[key] = pixels
                keptBytes += pixels.count
            }
        }
        return pixels
    }

    /// The background of video `video`: the per-pixel median of up to
    /// ``BackgroundRemoval/medianFrames`` evenly spaced resized frames (the mean of the
    /// two middle values, rounded down, for an even count, as `np.uint8(np.median(...))`).
    /// - Throws: ``DataError`` when a frame cannot be decoded.
    public func background(video: Int) throws -> [UInt8] {
        if let background = lock.withLock({ backgrounds[video] }) { return background }
        let frameCount = videos[video].frameCount
        let n = min(frameCount, options.backgroundRemoval?.medianFrames ?? 100)
        let chosen = (0..<n).map { $0 * frameCount / n }
        let frames = try chosen.map { try decode(video: video, frame: $0) }
        var background = [UInt8](repeating: 0, count: options.frameBytes)
        var values = [UInt8](repeating: 0, count: n)
        for p in 0..<background.count {
            for f in 0..<n { values[f] = frames[f][p] }
            values.sort()
            background[p] = n % 2 == 1 ? values[n / 2] : UInt8((Int(values[n / 2 - 1]) + Int(values[n / 2])) / 2)
        }
        lock.withLock { backgrounds[video] = background }
        return background
    }

    /// Decodes every frame once (in order, so the first ones are kept when the budget is
    /// short), so that a bad file is found before training rather than during it.
    /// - Throws: the first frame's error.
    public func decodeAll() throws {
        for video in videos.indices {
            for frame in 0..<videos[video].frameCount { _ = try self.frame(video: video, frame: frame) }
        }
    }

    /// `pixels` with the pixels near the background set to 0.
    func removeBackground(_ pixels: [UInt8], background: [UInt8]) -> [UInt8] {
        guard let removal = options.backgroundRemoval else { return pixels }
        let channels = options.channels, height = options.height, width = options.width, plane = height * width
        var mask = [Bool](repeating: false, count: plane)
        for p in 0..<plane {
            var difference = 0
            for c in 0..<channels { difference += abs(Int(pixels[c * plane + p]) - Int(background[c * plane + p])) }
            mask[p] = difference > removal.threshold * channels
        }
        for _ in 0..<removal.dilation {
            var grown = mask
            for y in 0..<height {
                for x in 0..<width where !mask[y * width + x] {
                    grown[y * width + x] = (y > 0 && mask[(y - 1) * width + x]) || (y + 1 < height && mask[(y + 1) * width + x])
                        || (x > 0 && mask[y * width + x - 1]) || (x + 1 < width && mask[y * width + x + 1])
                }
            }
            mask = grown
        }
        var out = pixels
        for c in 0..<channels {
            for p in 0..<plane where !mask[p] { out[c * plane + p] = 0 }
        }
        return out
    }

    /// One frame decoded and resized, its original size checked against the video's first frame.
    private func decode(video: Int, frame: Int) throws -> [UInt8] {
        let path = videos[video].frames[frame], name = videos[video].name
        let image: ImageDecoder.Image
        do {
            image = try ImageDecoder.decode(path: path, channels: options.channels)
        } catch let error as DataError {
            throw DataError.unreadable(path: path, reason: "frame \(frame) of video \(name): \(error)")
        }
        let first: (width: Int, height: Int)
        if frame == 0 {
            first = (image.width, image.height)
            lock.withLock { firstSizes[video] = first }
        } else if let known = lock.withLock({ firstSizes[video] }) {
            first = known
        } else {
            _ = try decode(video: video, frame: 0)
            first = lock.withLock { firstSizes[video]! }
        }
        guard (image.width, image.height) == first else {
            throw DataError.malformed(path: path, message: "video \(name): frame \(frame) is \(image.width)x\(image.height), but the video's first frame is \(first.width)x\(first.height); the frames of a video must have one size")
        }
        return try ImageResizer.resize(image, height: options.height, width: options.width, filter: options.filter, source: path).pixels
    }
}
