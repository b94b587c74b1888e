import MOCCACore
import MOCCAModels

/// Every hyperparameter of a MOCCA detector; stored in its manifest.
public struct MOCCAConfiguration: Codable, Sendable, Equatable {
    /// A documented set of defaults.
    public enum Recipe: String, Codable, Sendable, CaseIterable {
        /// The best method measured on held-out data: each tap scored by the distance to its
        /// nearest normal training representation, channels fused after standardisation
        /// (beyond the paper; see the DocC article for the figures).
        case `default`
        /// The paper's method exactly: the distance to each tap's centroid, averaged over taps.
        case paper
    }

    /// The shape of the one-class boundary.
    public enum Boundary: String, Codable, Sendable, CaseIterable {
        /// Pull every representation towards its centroid: loss `Σ_l mean_i d_l`.
        case hard
        /// Learn a radius per tap and penalise only what lies outside:
        /// loss `Σ_l R_l² + (1/ν)·mean_i max(0, d_l − R_l²)`.
        case soft
    }

    /// How per-tap scores combine into one anomaly score.
    public enum Fusion: String, Codable, Sendable, CaseIterable {
        /// The paper's: the mean over taps of `d_l` (hard) or `d_l − R_l²` (soft).
        case mean
        /// The mean over taps of scores standardised by the training set's statistics.
        case standardized
    }

    /// How a tap's representation becomes that tap's score.
    public enum TapScore: String, Codable, Sendable, CaseIterable {
        /// The paper's: the squared distance to the tap's centroid, `d_l` (hard boundary)
        /// or `d_l − R_l²` (soft).
        case centroid
        /// The official code's MVTec AD score: the unsquared distance to the tap's
        /// centroid, `√d_l` (hard) or `√d_l − R_l` (soft). It ranks the samples of one tap
        /// as ``centroid`` does; fused by the mean, it weighs the taps differently (a
        /// far tap counts less than when squared).
        case centroidEuclidean = "centroid-euclidean"
        /// Beyond the paper: the Euclidean distance to the k-th nearest representation of
        /// the normal training images, each coordinate divided by its standard deviation
        /// over them. The detector keeps those representations; the channels are fused
        /// after standardisation.
        case nearestNeighbor = "nearest-neighbor"
    }

    /// The network, by registered name, with its own configuration; its input shape must
    /// match the samples.
    public var network: NetworkSpecification = Self.defaultNetwork
    /// The taps trained and scored, by name (for example `conv1`, `conv2`, `conv3`, `code`).
    public var taps: [String] = ["conv1", "conv2", "conv3", "code"]
    /// The one-class objective's boundary.
    public var boundary: Boundary = .hard
    /// ν in (0, 1): the soft boundary's outlier fraction, and the default threshold quantile.
    public var nu: Double = 0.1
    /// Epochs of the one-class phase before the soft boundary's radii start to move (with
    /// as many warm-up epochs as one-class epochs, the radii stay zero).
    public var warmUpEpochs = 3
    /// Phase 1 (autoencoder): epochs, Adam's learning rate, and the epochs at which it drops ×0.1.
    public var autoencoderEpochs = 20
    /// Adam's learning rate in the autoencoder phase.
    public var autoencoderLearningRate: Float = 1e-3
    /// Epochs of the autoencoder phase at which the learning rate drops ×0.1 (none by default).
    public var autoencoderMilestones: [Int] = []
    /// Phase 2 (one-class): epochs, Adam's learning rate, and the epochs at which it drops ×0.1.
    public var oneClassEpochs = 10
    /// Adam's learning rate in the one-class phase.
    public var oneClassLearningRate: Float = 1e-4
    /// Epochs of the one-class phase at which the learning rate drops ×0.1 (none by default).
    public var oneClassMilestones: [Int] = []
    /// Adam's L2 weight decay in both phases (Deep SVDD's 0.5e-6).
    public var weightDecay: Float = 0.5e-6
    /// Mini-batch size in both phases.
    public var batchSize = 64
    /// Fixes the initial weights and the order of the batches.
    public var seed: UInt64 = 0
    /// How the channels' scores become one score.
    public var fusion: Fusion = .mean
    /// Whether to add the autoencoder's reconstruction error as a score channel, fused
    /// with the taps after standardisation.
    public var reconstructionChannel = false
    /// How each tap is scored: distance to its centroid (the paper) or to its nearest
    /// normal training representations.
    public var tapScore: TapScore = .centroid
    /// Which neighbour the ``TapScore/nearestNeighbor`` score measures the distance to (from 1).
    public var neighbors = 1
    /// The most training representations the ``TapScore/nearestNeighbor`` score keeps per
    /// tap, chosen by a seeded greedy farthest-point coreset; nil keeps them all. Patch
    /// training draws tens of thousands of samples, too many to search at every score.
    public var referenceLimit: Int?
    /// Whether each phase ends with the network of its lowest epoch mean loss rather than
    /// its last epoch's (the official MVTec AD code keeps its best epoch).
    public var keepsLowestLossEpoch = false
    /// Whether the one-class phase also minimises the reconstruction loss and trains every
    /// parameter, decoder included (the paper's video schedule), rather than the encoder
    /// and its heads alone. Phase 1 still runs first for ``autoencoderEpochs`` (0 skips it:
    /// the centroids then come from the initial network).
    public var trainsEndToEnd = false
    /// The precision the fit runs the network in: float32 (the default), or bf16 on a CPU
    /// with native bf16 (see ``MOCCACore/ComputePrecision``), where the 2-D convolutions of
    /// both training phases take bf16 operands with float32 accumulation and float32 master
    /// weights. A detector starts scoring in it too (``MOCCADetector/scoringPrecision``), so
    /// that the centroids, the tap scorers and the threshold come from the same arithmetic
    /// as the training. It changes the trained weights, hence the manifest records it; it
    /// is written only when not float32, so float32 manifests and pretraining keys are
    /// those of releases without it.
    public var precision: Precision = .fp32
    /// Beyond the paper, for detectors of whole inspection images: anomaly maps from one
    /// feature-map tap, each location scored by its nearest training location (see
    /// ``LocalFeatureMemory``). Nil (the default): maps only from patch scores.
    public var localMaps: LocalMapOptions?

    /// The network of a configuration made without one.
    public static let defaultNetwork = NetworkSpecification(name: CIFAR10LeNetConfiguration.networkName,
                                                            configuration: .object(["codeLength": .number(128)]))

    /// A recipe's defaults: the CIFAR-10 network, all its taps, hard boundary, 20 + 10
    /// epochs, and the recipe's tap score and fusion.
    public init(recipe: Recipe = .default) {
        switch recipe {
        case .default:
            tapScore = .nearestNeighbor
            fusion = .standardized
        case .paper:
            tapScore = .centroid
            fusion = .mean
        }
    }

    /// Checks every option, the network's included, and returns the resolved network.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` naming the first bad option.
    @discardableResult
    public func validate() throws -> ResolvedNetwork {
        func fail(_ message: String) throws -> Never { throw MOCCAError.invalidConfiguration(message) }
        let resolved: ResolvedNetwork
        do { resolved = try network.resolved() } catch { try fail("\(error)") }
        let availableTaps = resolved.tapNames
        if taps.isEmpty { try fail("choose at least one tap (available: \(availableTaps.joined(separator: ", ")))") }
        if let unknown = taps.first(where: { !availableTaps.contains($0) }) {
            try fail("unknown tap '\(unknown)'; the \(network.name) network has \(availableTaps.joined(separator: ", "))")
        }
        if Set(taps).count != taps.count { try fail("a tap is listed twice in \(taps)") }
        if !(nu > 0 && nu < 1) { try fail("nu must be in (0, 1), got \(nu)") }
        if autoencoderEpochs < 0 || oneClassEpochs < 0 || warmUpEpochs < 0 { try fail("epochs must be non-negative") }
        if batchSize < 2 { try fail("the batch size must be at least 2 (BatchNorm needs two samples), got \(batchSize)") }
        if !(autoencoderLearningRate > 0 && autoencoderLearningRate.isFinite) || !(oneClassLearningRate > 0 && oneClassLearningRate.isFinite) {
            try fail("learning rates must be positive and finite")
        }
        if neighbors < 1 { try fail("the number of neighbours must be at least 1, got \(neighbors)") }
        if weightDecay < 0 || !weightDecay.isFinite { try fail("the weight decay must be non-negative, got \(weightDecay)") }
        if let referenceLimit, referenceLimit <= neighbors {
            try fail("the reference limit must exceed k = \(neighbors), got \(referenceLimit)")
        }
        try localMaps?.validate(availableTaps: availableTaps)
        if fusion == .mean && (tapScore == .nearestNeighbor || reconstructionChannel) {
            try fail("the plain mean adds channels of different scales (\(tapScore != .nearestNeighbor ? "the reconstruction error" : "nearest-neighbour distances")); use --fusion standardized")
        }
        return resolved
    }
}

extension MOCCAConfiguration {
    /// Decodes a configuration as stored in a manifest or a benchmark record. Options added
    /// after the first release (the tap score and its neighbours) take the values that
    /// release used when absent, and its `model` and `codeLength` become a network
    /// specification, so older detectors and results still load.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let network = try c.decodeIfPresent(NetworkSpecification.self, forKey: .network) {
            self.network = network
        } else {
            // Format 1 manifests name a built-in LeNet and its code length.
            let legacy = try decoder.container(keyedBy: LegacyKeys.self)
            let model = try legacy.decode(String.self, forKey: .model)
            let codeLength = try legacy.decode(Int.self, forKey: .codeLength)
            network = NetworkSpecification(name: model, configuration: .object(["codeLength": .number(Double(codeLength))]))
        }
        taps = try c.decode([String].self, forKey: .taps)
        boundary = try c.decode(Boundary.self, forKey: .boundary)
        nu = try c.decode(Double.self, forKey: .nu)
        warmUpEpochs = try c.decode(Int.self, forKey: .warmUpEpochs)
        autoencoderEpochs = try c.decode(Int.self, forKey: .autoencoderEpochs)
        autoencoderLearningRate = try c.decode(Float.self, forKey: .autoencoderLearningRate)
        autoencoderMilestones = try c.decode([Int].self, forKey: .autoencoderMilestones)
        oneClassEpochs = try c.decode(Int.self, forKey: .oneClassEpochs)
        oneClassLearningRate = try c.decode(Float.self, forKey: .oneClassLearningRate)
        oneClassMilestones = try c.decode([Int].self, forKey: .oneClassMilestones)
        weightDecay = try c.decode(Float.self, forKey: .weightDecay)
        batchSize = try c.decode(Int.self, forKey: .batchSize)
        seed = try c.decode(UInt64.self, forKey: .seed)
        fusion = try c.decode(Fusion.self, forKey: .fusion)
        reconstructionChannel = try c.decode(Bool.self, forKey: .reconstructionChannel)
        tapScore = try c.decodeIfPresent(TapScore.self, forKey: .tapScore) ?? .centroid
        neighbors = try c.decodeIfPresent(Int.self, forKey: .neighbors) ?? 1
        referenceLimit = try c.decodeIfPresent(Int.self, forKey: .referenceLimit)
        keepsLowestLossEpoch = try c.decodeIfPresent(Bool.self, forKey: .keepsLowestLossEpoch) ?? false
        trainsEndToEnd = try c.decodeIfPresent(Bool.self, forKey: .trainsEndToEnd) ?? false
        precision = try c.decodeIfPresent(Precision.self, forKey: .precision) ?? .fp32
        localMaps = try c.decodeIfPresent(LocalMapOptions.self, forKey: .localMaps)
        // Detectors written before fusion was checked fused these channels standardised
        // whatever their stored fusion said; say so now.
        if tapScore == .nearestNeighbor || reconstructionChannel { fusion = .standardized }
    }

    private enum LegacyKeys: String, CodingKey { case model, codeLength }

    private enum CodingKeys: String, CodingKey {
        case network, taps, boundary, nu, warmUpEpochs, autoencoderEpochs, autoencoderLearningRate, autoencoderMilestones
        case oneClassEpochs, oneClassLearningRate, oneClassMilestones, weightDecay, batchSize, seed, fusion
        case reconstructionChannel, tapScore, neighbors, referenceLimit, keepsLowestLossEpoch, trainsEndToEnd, precision, localMaps
    }

    /// Encodes every option, ``referenceLimit`` as `null` when there is none, so that a
    /// manifest (and the pretraining key's text) names every option there is; ``precision``
    /// only when it is not float32 and ``localMaps`` only when set, so that configurations
    /// without them encode as before.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(network, forKey: .network)
        try c.encode(taps, forKey: .taps)
        try c.encode(boundary, forKey: .boundary)
        try c.encode(nu, forKey: .nu)
        try c.encode(warmUpEpochs, forKey: .warmUpEpochs)
        try c.encode(autoencoderEpochs, forKey: .autoencoderEpochs)
        try c.encode(autoencoderLearningRate, forKey: .autoencoderLearningRate)
        try c.encode(autoencoderMilestones, forKey: .autoencoderMilestones)
        try c.encode(oneClassEpochs, forKey: .oneClassEpochs)
        try c.encode(oneClassLearningRate, forKey: .oneClassLearningRate)
        try c.encode(oneClassMilestones, forKey: .oneClassMilestones)
        try c.encode(weightDecay, forKey: .weightDecay)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(seed, forKey: .seed)
        try c.encode(fusion, forKey: .fusion)
        try c.encode(reconstructionChannel, forKey: .reconstructionChannel)
        try c.encode(tapScore, forKey: .tapScore)
        try c.encode(neighbors, forKey: .neighbors)
        try c.encode(referenceLimit, forKey: .referenceLimit)
        try c.encode(keepsLowestLossEpoch, forKey: .keepsLowestLossEpoch)
        try c.encode(trainsEndToEnd, forKey: .trainsEndToEnd)
        if precision != .fp32 { try c.encode(precision, forKey: .precision) }
        try c.encodeIfPresent(localMaps, forKey: .localMaps)
    }
}
