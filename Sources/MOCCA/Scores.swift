/// Anomaly scores of a batch of samples: higher means more anomalous.
public struct Scores: Sendable {
    /// The fused score of each sample.
    public var overall: [Float]
    /// The score channels: the taps in order, then `reconstruction` when enabled.
    public var channels: [String]
    /// `perChannel[k][i]`: channel `k`'s score of sample `i` (`d_l`, or `d_l − R_l²` for a
    /// soft boundary; with the nearest-neighbour tap score, the distance to the nearest
    /// training representation; the reconstruction channel is the squared reconstruction
    /// error).
    public var perChannel: [[Float]]

    /// Scores from their parts.
    public init(overall: [Float], channels: [String], perChannel: [[Float]]) {
        self.overall = overall
        self.channels = channels
        self.perChannel = perChannel
    }

    /// The scores of one channel.
    public func channel(_ name: String) -> [Float]? {
        channels.firstIndex(of: name).map { perChannel[$0] }
    }
}

/// The mean and standard deviation of one score channel over the training data, used
/// to standardise channels before fusing them.
public struct ChannelStatistics: Codable, Sendable, Equatable {
    /// The channel's mean score on the training data.
    public var mean: Float
    /// The channel's (population) standard deviation on the training data.
    public var standardDeviation: Float

    /// The mean and standard deviation of `scores`, computed in double precision.
    public init(scores: [Float]) {
        let n = Double(max(scores.count, 1))
        let mean = scores.reduce(0.0) { $0 + Double($1) } / n
        let variance = scores.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        self.mean = Float(mean)
        self.standardDeviation = Float(variance.squareRoot())
    }

    /// `(value − mean) / sd`; a channel that was constant on the training data carries no
    /// information to weigh and contributes zero.
    func standardize(_ value: Float) -> Float {
        isInformative ? (value - mean) / standardDeviation : 0
    }

    /// Whether the channel varied on the training data (a NaN deviation did not).
    public var isInformative: Bool { standardDeviation > 1e-12 * max(1, abs(mean)) }
}
