import MOCCACore
import MOCCAData

extension MOCCADetector {
    /// Samples per forward pass when scoring: throughput is flat from 128 up, and memory
    /// grows with it.
    static let scoringBatch = 128

    /// Input values per scoring batch at most: a batch of 128 video clips (16×64×64 each)
    /// made activations of 268 MB per tensor and a 3 GB peak. 2^18 values keep 128 images
    /// of MNIST per batch, 85 of CIFAR-10, 64 grey 64-px patches, 5 of 3×128×128 and 4
    /// clips of 16×64×64. At 2^20 (128 patches) scoring MTD's patches peaked at 515 MB of
    /// tensors in use and the training run at 1.15 GB resident; at 2^18, 321 MB and 0.81 GB,
    /// in the same time.
    static let scoringBatchValues = 1 << 18

    /// The scoring batch for samples of `sampleCount` values.
    static func scoringBatch(sampleCount: Int) -> Int {
        min(scoringBatch, max(1, scoringBatchValues / max(sampleCount, 1)))
    }

    /// Scores preprocessed samples, overall and per channel, a batch at a time.
    /// - Throws: ``MOCCAError/notFitted``, ``MOCCAError/invalidData(_:)`` for samples of
    ///   the wrong shape, and ``MOCCAError/nonFiniteScore(sample:channel:)`` naming the
    ///   first sample whose score is not a number.
    public func score(_ samples: any SampleSource) throws -> Scores {
        guard isFitted else { throw MOCCAError.notFitted }
        guard samples.sampleShape == network.inputShape else {
            throw MOCCAError.invalidData("the detector takes samples of shape \(network.inputShape), got \(samples.sampleShape)")
        }
        let raw = try channelScores(samples)
        return Scores(overall: fusion.fuse(raw), channels: channels, perChannel: raw)
    }

    /// Scores preprocessed samples held in one tensor `[N, ...]`.
    public func score(_ samples: Tensor) throws -> Scores {
        try network.checkInput(samples)
        return try score(TensorSource(samples))
    }

    /// Scores raw images with the detector's own preprocessing constants, a batch at a time.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` when the detector has no
    ///   preprocessing constants (it was fitted on tensors: score tensors then).
    public func score(_ images: ImageDataset) throws -> Scores {
        guard let preprocessor else {
            throw MOCCAError.invalidConfiguration("the detector has no preprocessing constants; preprocess the images and score the tensor")
        }
        return try score(PreprocessedImages(images, preprocessor: preprocessor))
    }

    /// Whether each sample is an anomaly: its score is above ``threshold``.
    public func predict(_ samples: any SampleSource) throws -> [Bool] {
        try score(samples).overall.map { $0 > threshold }
    }

    /// Whether each sample of a tensor `[N, ...]` is an anomaly.
    public func predict(_ samples: Tensor) throws -> [Bool] {
        try score(samples).overall.map { $0 > threshold }
    }

    /// Sets the threshold by a rule; `referenceScores` are the held-out normal scores for
    /// ``ThresholdRule/falsePositiveRate(rate:)`` and the training scores otherwise.
    public func setThreshold(_ rule: ThresholdRule, referenceScores: [Float]) throws {
        threshold = try rule.threshold(referenceScores: referenceScores)
        thresholdRule = rule
    }

    /// Sets the threshold by a rule, from the stored training scores, or for a target false
    /// positive rate from preprocessed held-out normal samples.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` when the rule needs held-out
    ///   normal samples and none are given.
    public func calibrate(_ rule: ThresholdRule, heldOutNormal: (any SampleSource)? = nil) throws {
        guard isFitted else { throw MOCCAError.notFitted }
        switch rule {
        case .falsePositiveRate:
            guard let heldOutNormal else {
                throw MOCCAError.invalidConfiguration("a target false positive rate needs held-out normal samples")
            }
            try setThreshold(rule, referenceScores: score(heldOutNormal).overall)
        default:
            try setThreshold(rule, referenceScores: trainingScores)
        }
    }

    /// Calls `body` with each scoring batch's indices, samples and tap vectors `[B, D]`, in
    /// evaluation mode and without gradients.
    func forEachTapBatch(_ samples: any SampleSource, _ body: ([Int], Tensor, [Tensor]) throws -> Void) throws {
        try forEachScoringBatch(samples) { indices, batch in try body(indices, batch, network.tapVectors(batch, taps: configuration.taps)) }
    }

    /// Calls `body` with each scoring batch's indices and samples, the network in evaluation
    /// mode, without gradients and at the scoring precision.
    func forEachScoringBatch(_ samples: any SampleSource, _ body: ([Int], Tensor) throws -> Void) throws {
        network.eval()
        defer {
            network.train()
            Tensor.releaseCachedBuffers()
        }
        try ComputePrecision.run(in: scoringPrecision) {
            try withoutGradients {
                let size = Self.scoringBatch(sampleCount: samples.sampleShape.reduce(1, *))
                for loaded in BatchLoader(samples, consecutiveBatchesOf: size) {
                    try body(loaded.indices, checkedBatch(loaded, samples))
                }
            }
        }
    }

    /// Unfused scores, channel-major, in evaluation mode. With `leaveOneOut`, `samples` are
    /// the training samples themselves, and none is its own nearest neighbour. With
    /// `centroids`, each tap's paper score (``CentroidScorer``, squared) follows the
    /// channels, from the same pass, whatever the detector's own tap score. With
    /// `squaredErrors`, each batch's indices and squared reconstruction errors (shaped like
    /// the batch) go to it, from the pass that gives the reconstruction channel.
    func channelScores(_ samples: any SampleSource, leaveOneOut: Bool = false, centroids: Bool = false,
                       squaredErrors: (([Int], Tensor) throws -> Void)? = nil) throws -> [[Float]] {
        autoencoder?.eval()
        var paper = configuration
        paper.tapScore = .centroid
        let centroidScorers = centroids ? taps.map { CentroidScorer(fitting: $0, representations: nil, configuration: paper) } : []
        var perChannel = [[Float]](repeating: [], count: channels.count + centroidScorers.count)
        for k in perChannel.indices { perChannel[k].reserveCapacity(samples.count) }
        try forEachTapBatch(samples) { indices, batch, vectors in
            for (l, v) in vectors.enumerated() {
                guard let scorer = taps[l].scorer else { throw MOCCAError.notFitted }
                perChannel[l] += try scorer.score(v, trainingOffset: leaveOneOut ? indices[0] : nil)
                if centroids { perChannel[channels.count + l] += try centroidScorers[l].score(v, trainingOffset: nil) }
            }
            if let autoencoder {
                let errors = try autoencoder.squaredReconstructionErrors(batch)
                perChannel[channels.count - 1] += try errors.sum(alongAxes: Array(1..<batch.rank)).scalars
                try squaredErrors?(indices, errors)
            }
            for (k, channel) in perChannel.enumerated() {
                if let bad = channel.suffix(indices.count).firstIndex(where: { !$0.isFinite }) {
                    throw MOCCAError.nonFiniteScore(sample: samples.origin(of: indices[bad - (channel.count - indices.count)]),
                                                    channel: k < channels.count ? channels[k] : "\(taps[k - channels.count].name) (centroid)")
                }
            }
        }
        return perChannel
    }

    /// Fuses unfused channel scores (as in ``Scores/perChannel``) with a given rule. The
    /// plain mean covers the taps only (the paper's score); the standardised mean covers
    /// every channel, the reconstruction channel included.
    public func fuse(_ perChannel: [[Float]], fusion rule: MOCCAConfiguration.Fusion) -> [Float] {
        fusion.fuse(perChannel, rule: rule)
    }

    /// Fuses a chosen subset of the channels (indices into `perChannel`) with a given rule,
    /// so that tap combinations can be compared on one trained detector.
    public func fuse(_ perChannel: [[Float]], fusion rule: MOCCAConfiguration.Fusion, channels: [Int]) -> [Float] {
        fusion.fuse(perChannel, rule: rule, channels: channels)
    }
}

/// A detector's scores together with the comparison scores that the same forward pass
/// yields: the taps alone and the paper's centroid score. Benchmarks report all three from
/// one trained detector, so that the scores are compared on exactly the same network.
public struct ScoreSeries: Sendable {
    /// The detector's own scores, fused by its rule, and every channel's.
    public var scores: Scores
    /// The taps alone, fused by the detector's rule (equal to the overall score when there
    /// is no reconstruction channel).
    public var taps: [Float]
    /// The paper's score, whatever the detector's own tap score: each sample's mean over
    /// taps of the squared distance to the tap's centroid (minus R² for a soft boundary).
    public var paper: [Float]
    /// The autoencoder's reconstruction error, where the detector has that channel.
    public var reconstruction: [Float]? { scores.channel("reconstruction") }
}

extension MOCCADetector {
    /// Scores preprocessed samples as ``score(_:)-(SampleSource)`` does, and from the same
    /// pass the taps alone and the paper's centroid score.
    public func scoreSeries(_ samples: any SampleSource) throws -> ScoreSeries {
        try scoreSeries(samples, squaredErrors: nil)
    }

    /// ``scoreSeries(_:)``, passing each batch's squared reconstruction errors to
    /// `squaredErrors` as ``channelScores(_:leaveOneOut:centroids:squaredErrors:)`` does.
    func scoreSeries(_ samples: any SampleSource, squaredErrors: (([Int], Tensor) throws -> Void)?) throws -> ScoreSeries {
        guard isFitted else { throw MOCCAError.notFitted }
        guard samples.sampleShape == network.inputShape else {
            throw MOCCAError.invalidData("the detector takes samples of shape \(network.inputShape), got \(samples.sampleShape)")
        }
        let all = try channelScores(samples, centroids: true, squaredErrors: squaredErrors)
        let raw = Array(all[..<channels.count]), centroid = all[channels.count...]
        let fused = fusion.fuse(raw)
        let paper = (0..<samples.count).map { i in centroid.reduce(0) { $0 + $1[i] } / Float(max(centroid.count, 1)) }
        let taps = configuration.reconstructionChannel ? fuse(raw, fusion: configuration.fusion, channels: Array(self.taps.indices)) : fused
        return ScoreSeries(scores: Scores(overall: fused, channels: channels, perChannel: raw), taps: taps, paper: paper)
    }
}
