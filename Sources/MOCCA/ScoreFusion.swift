/// How a detector's score channels become one anomaly score, with the training
/// statistics it needs.
public struct ScoreFusion: Codable, Sendable, Equatable {
    /// The rule (the configuration's: it is never replaced behind the user's back).
    public let rule: MOCCAConfiguration.Fusion
    /// The channels: the taps, then `reconstruction` when enabled.
    public let channels: [String]
    /// How many of the channels are taps (the plain mean covers these only).
    public let tapCount: Int
    /// Each channel's mean and standard deviation over the training samples.
    public internal(set) var statistics: [ChannelStatistics]

    /// A fusion of `channels`, the first `tapCount` of them taps, before any statistics.
    public init(rule: MOCCAConfiguration.Fusion, channels: [String], tapCount: Int, statistics: [ChannelStatistics] = []) {
        self.rule = rule
        self.channels = channels
        self.tapCount = tapCount
        self.statistics = statistics
    }

    /// One score per sample from channel-major scores, by ``rule``.
    public func fuse(_ perChannel: [[Float]]) -> [Float] { fuse(perChannel, rule: rule) }

    /// One score per sample by another rule: the plain mean covers the taps only (the
    /// paper's score); the standardised mean covers every channel.
    public func fuse(_ perChannel: [[Float]], rule: MOCCAConfiguration.Fusion) -> [Float] {
        let taps = min(tapCount, perChannel.count)
        return fuse(perChannel, rule: rule, channels: Array(0..<(rule == .mean ? taps : perChannel.count)))
    }

    /// One score per sample from a chosen subset of the channels (indices into
    /// `perChannel`), so that tap combinations can be compared on one trained detector.
    public func fuse(_ perChannel: [[Float]], rule: MOCCAConfiguration.Fusion, channels: [Int]) -> [Float] {
        let count = channels.first.map { perChannel[$0].count } ?? 0
        return (0..<count).map { i in
            var total: Float = 0
            for k in channels {
                total += rule == .standardized && k < statistics.count ? statistics[k].standardize(perChannel[k][i]) : perChannel[k][i]
            }
            return total / Float(channels.count)
        }
    }

    /// The channels that standardisation will drop because they did not vary on the
    /// training samples (or their deviation is not a number).
    public var constantChannels: [String] {
        zip(channels, statistics).filter { !$0.1.isInformative }.map(\.0)
    }
}
