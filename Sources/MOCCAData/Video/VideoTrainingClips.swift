import MOCCACore

/// An epoch of training clips drawn at random, with replacement, from the clips of a
/// ``VideoClips``: a ``SampleSource`` of ``count`` samples (10,000 by default, as the
/// official code draws per epoch) that holds only the frames, never the clips.
///
/// Sample `i` is the clip drawn by a generator seeded from ``seed``, ``epoch`` and `i`,
/// uniformly over all clips (so a video contributes in proportion to its clips): the same
/// seed and epoch give the same clips, on any thread and in any batch order. Step
/// ``epoch`` (``forEpoch(_:)``) to draw new clips for each epoch.
public struct VideoTrainingClips: SampleSource {
    /// The clips drawn from.
    public let pool: VideoClips
    /// The number of clips in one epoch.
    public let count: Int
    /// The seed of the draws.
    public let seed: UInt64
    /// The epoch whose clips these are.
    public let epoch: Int

    /// `count` clips drawn from `pool` for `epoch`.
    /// - Throws: ``DataError/malformed(path:message:)`` for a negative count or an empty pool.
    public init(_ pool: VideoClips, count: Int = 10_000, seed: UInt64, epoch: Int = 0) throws {
        guard count >= 0 else { throw DataError.malformed(path: "training clips", message: "the number of clips must be at least 0, got \(count)") }
        guard pool.count > 0 || count == 0 else { throw DataError.malformed(path: "training clips", message: "no clips to draw from") }
        self.pool = pool
        self.count = count
        self.seed = seed
        self.epoch = epoch
    }

    /// The same draws for another epoch.
    public func forEpoch(_ epoch: Int) -> VideoTrainingClips {
        // Count and pool were checked when self was made.
        try! VideoTrainingClips(pool, count: count, seed: seed, epoch: epoch)
    }

    /// The index in ``pool`` of sample `index`'s clip.
    public func poolIndex(of index: Int) -> Int {
        var generator = RandomGenerator(seed: (seed &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(truncatingIfNeeded: epoch) &* 0xD1B5_4A32_D192_ED03) &+ UInt64(index))
        return Int(generator.next() % UInt64(pool.count))
    }

    /// The clip of sample `index`.
    public func clip(of index: Int) -> VideoClip { pool.clips[poolIndex(of: index)] }
    /// `[C, T, H, W]`.
    public var sampleShape: [Int] { pool.sampleShape }
    /// Each sample's video.
    public var groups: [Int]? { (0..<count).map { clip(of: $0).video } }
    /// The drawn clips' labels, where the pool has labels.
    public var labels: [Int]? { pool.labels.map { labels in (0..<count).map { labels[poolIndex(of: $0)] } } }
    /// The drawn clip's video and frames.
    public func origin(of index: Int) -> String { pool.origin(of: poolIndex(of: index)) }
    /// The drawn clips at `indices`.
    public func batch(_ indices: [Int]) throws -> Tensor { try pool.batch(indices.map(poolIndex(of:))) }
}

extension VideoTrainingClips: EpochDrawnSource {
    /// Each training epoch draws its own clips (``forEpoch(_:)``).
    public func drawn(forEpoch epoch: Int) -> any SampleSource { forEpoch(epoch) }
}
