import Foundation
import MOCCACore
import MOCCAData
import MOCCAModels
import MOCCANN

/// A MOCCA anomaly detector: fit on normal samples, then score, predict, save and load.
///
/// Fitting runs the method's two phases (see the DocC article *The MOCCA method*):
/// 1. an autoencoder is trained on the normal samples to reconstruct them;
/// 2. its decoder is set aside, a centroid is computed for every tap from the normal
///    samples, and the encoder is trained so that each tap's representation stays close
///    to its centroid (hard boundary) or inside a learned radius (soft boundary).
/// Each tap's scorer is then fitted, and the threshold set from the training scores.
///
/// The detector reads samples through ``SampleSource`` and knows its network only as a
/// ``TappedNetwork`` from the ``NetworkRegistry``: images, clips, patches and table rows
/// all go through the same code. Scores follow scikit-learn and PyOD's convention:
/// higher is more anomalous, and ``predict(_:)`` flags scores above ``threshold``.
public final class MOCCADetector {
    /// The hyperparameters.
    public let configuration: MOCCAConfiguration
    /// The network, its input shape, taps and code length, as the registry resolved it.
    public let resolvedNetwork: ResolvedNetwork
    /// The network whose encoder is trained in the one-class phase.
    public let network: TappedNetwork
    /// The autoencoder as it was after phase 1, kept for the reconstruction channel.
    public internal(set) var autoencoder: TappedNetwork?
    /// The preprocessing constants of the training data, applied to raw images at scoring.
    public var preprocessor: Preprocessor?
    /// Where the training data came from, for reports and for scoring new files.
    public var trainingData: TrainingDataDescription?
    /// One state per tap, in ``MOCCAConfiguration/taps`` order (empty until fitted).
    public internal(set) var taps: [TapState] = []
    /// How the channels' scores become one score, with their training statistics.
    public internal(set) var fusion: ScoreFusion
    /// How ``threshold`` was chosen.
    public internal(set) var thresholdRule: ThresholdRule
    /// Scores above this are anomalies.
    public internal(set) var threshold: Float = .infinity
    /// The local feature maps' reference locations, where ``MOCCAConfiguration/localMaps``
    /// asks for them and they are fitted (``fitLocalMaps(on:)``).
    public internal(set) var localMemory: LocalFeatureMemory?
    /// What the last fit measured.
    public internal(set) var summary: TrainingSummary?
    /// The fused scores of the training samples after fitting, for re-calibrating the threshold.
    public internal(set) var trainingScores: [Float] = []
    /// Whether a training phase whose loss runs away stops with ``MOCCAError/diverged(phase:epoch:loss:reference:)``
    /// (the default) or carries on.
    public var stopsOnDivergence = true

    /// The precision scoring runs the network in: float32, or bf16 on a CPU with native bf16
    /// (see ``MOCCACore/ComputePrecision``). A new detector starts at its configuration's
    /// ``MOCCAConfiguration/precision``, so that a fit computes its centroids, scorers and
    /// threshold as it trains; a loaded one at float32, since the host scoring it may lack
    /// bf16. A setting of this process, not of the detector: it is not saved.
    public var scoringPrecision: Precision
    /// Phase 1's last epoch's mean loss, and its duration.
    var pretrainingLoss: Float = .nan
    var pretrainingSeconds: Double = 0

    /// Whether ``fit(normal:progress:)`` has run (or a fitted detector was loaded).
    public var isFitted: Bool { !taps.isEmpty && taps.allSatisfy { $0.scorer != nil } }

    /// The score channels: the taps, then `reconstruction` when enabled.
    public var channels: [String] { configuration.taps + (configuration.reconstructionChannel ? ["reconstruction"] : []) }

    /// A detector with freshly initialised weights (seeded by ``MOCCAConfiguration/seed``).
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` naming the first bad option.
    public init(configuration: MOCCAConfiguration) throws {
        resolvedNetwork = try configuration.validate()
        var generator = RandomGenerator(seed: configuration.seed)
        network = try resolvedNetwork.makeNetwork(generator: &generator)
        self.configuration = configuration
        scoringPrecision = configuration.precision
        thresholdRule = .trainingQuantile(nu: configuration.nu)
        let channels = configuration.taps + (configuration.reconstructionChannel ? ["reconstruction"] : [])
        fusion = ScoreFusion(rule: configuration.fusion, channels: channels, tapCount: configuration.taps.count)
    }

    // MARK: Fitting

    /// Trains on preprocessed normal samples (both phases), then fits the tap scorers, the
    /// channel statistics and the threshold.
    /// - Throws: ``MOCCAError`` for unusable data, a non-finite loss or a diverging phase.
    public func fit(normal samples: any SampleSource, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try pretrain(normal: samples, progress: progress)
        try fitOneClass(normal: samples, progress: progress)
    }

    /// ``fit(normal:progress:)`` on samples held in one tensor `[N, ...]`.
    public func fit(normal samples: Tensor, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try fit(normal: TensorSource(samples), progress: progress)
    }

    /// Phase 1: trains the autoencoder to reconstruct the normal samples.
    public func pretrain(normal samples: any SampleSource, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try checkTrainingSamples(samples)
        let start = Date()
        var sampler = BatchSampler(count: samples.count, batchSize: configuration.batchSize, seed: configuration.seed &+ 1)
        pretrainingLoss = try trainPhase(
            "autoencoder", epochs: configuration.autoencoderEpochs, parameters: network.parameters(),
            learningRate: configuration.autoencoderLearningRate, milestones: configuration.autoencoderMilestones,
            samples: samples, sampler: &sampler, progress: progress
        ) { batch, _ in try self.network.reconstructionLoss(batch) }
        pretrainingSeconds = Date().timeIntervalSince(start)
        if configuration.reconstructionChannel { autoencoder = try snapshot(of: network) }
    }

    /// ``pretrain(normal:progress:)`` on samples held in one tensor `[N, ...]`.
    public func pretrain(normal samples: Tensor, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try pretrain(normal: TensorSource(samples), progress: progress)
    }

    /// A detector with `configuration` (another boundary, ν, taps or one-class schedule)
    /// that starts from this detector's network and autoencoder as they are now, so that
    /// several one-class runs can share one pretrained autoencoder.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` unless the network is the same.
    public func copy(configuration other: MOCCAConfiguration) throws -> MOCCADetector {
        let copy = try MOCCADetector(configuration: other)
        guard copy.resolvedNetwork.specification == resolvedNetwork.specification else {
            throw MOCCAError.invalidConfiguration("a copy must keep the network (\(resolvedNetwork.specification.name) with its configuration)")
        }
        try copy.network.load(network.stateDictionary())
        if other.reconstructionChannel { copy.autoencoder = try autoencoder.map(snapshot(of:)) ?? snapshot(of: network) }
        copy.preprocessor = preprocessor
        copy.trainingData = trainingData
        copy.pretrainingLoss = pretrainingLoss
        copy.pretrainingSeconds = pretrainingSeconds
        return copy
    }

    /// Phase 2 on a pretrained network: centroids, then the one-class objective on the
    /// encoder and its tap heads; then the tap scorers, the channel statistics and the threshold.
    public func fitOneClass(normal samples: any SampleSource, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try checkTrainingSamples(samples)
        let start = Date()
        var sampler = BatchSampler(count: samples.count, batchSize: configuration.batchSize, seed: configuration.seed &+ 2)
        // The reconstruction channel needs the autoencoder as phase 1 left it.
        if configuration.reconstructionChannel && autoencoder == nil { autoencoder = try snapshot(of: network) }

        // Centroids of the pretrained encoder, in evaluation mode (running BatchNorm
        // statistics). Unfused: the centroids steer the training that follows, which so
        // stays bit for bit what it was before evaluation passes were fused; fused layers
        // would move them by float32 rounding.
        let centroids = try InferenceFusion.$isEnabled.withValue(false) { try computeCentroids(samples) }
        taps = zip(configuration.taps, centroids).map { TapState(name: $0, centroid: $1) }

        // The encoder is trained towards the centroids; the decoder is unused.
        let nu = configuration.nu
        var distances: [Tensor] = []
        // The radii at the end of each epoch, to go back to with the lowest-loss epoch.
        var radiiAtEpochEnd: [Int: [Float]] = [:]
        // End to end, the decoder trains too (each parameter once: heads may also be the network's own).
        var seen = Set<ObjectIdentifier>()
        let parameters = (configuration.trainsEndToEnd ? network.parameters() + network.oneClassParameters : network.oneClassParameters)
            .filter { seen.insert(ObjectIdentifier($0)).inserted }
        let oneClassLoss = try trainPhase(
            configuration.trainsEndToEnd ? "end-to-end" : "one-class", epochs: configuration.oneClassEpochs, parameters: parameters,
            learningRate: configuration.oneClassLearningRate, milestones: configuration.oneClassMilestones,
            samples: samples, sampler: &sampler, progress: progress,
            objective: { batch, _ in
                let vectors = try self.network.tapVectors(batch, taps: self.configuration.taps)
                distances = try zip(vectors, self.taps).map { try $0.squaredDistance(to: $1.centroid) }
                var total: Tensor?
                for (l, d) in distances.enumerated() {
                    let term = try OneClassObjective.loss(distances: d, boundary: self.configuration.boundary, radius: self.taps[l].radius, nu: nu)
                    total = try total.map { try $0 + term } ?? term
                }
                let oneClass = total ?? Tensor(0)
                return self.configuration.trainsEndToEnd ? try oneClass + self.network.reconstructionLoss(batch) : oneClass
            },
            afterStep: { epoch in
                // Deep SVDD: radii move after each step once the warm-up epochs are over.
                guard self.configuration.boundary == .soft, epoch >= self.configuration.warmUpEpochs else { return }
                for (l, d) in distances.enumerated() { self.taps[l].radius = OneClassObjective.radius(distances: d.scalars, nu: nu) }
                radiiAtEpochEnd[epoch] = self.taps.map(\.radius)
            },
            restore: { epoch in
                // Before the warm-up ended, the radii were still zero.
                let radii = radiiAtEpochEnd[epoch] ?? Array(repeating: 0, count: self.taps.count)
                for l in self.taps.indices { self.taps[l].radius = radii[l] }
            })

        // End to end, the reconstruction error is the jointly trained network's.
        if configuration.trainsEndToEnd && configuration.reconstructionChannel { autoencoder = try snapshot(of: network) }
        try fitScorers(on: samples)
        summary = TrainingSummary(normalCount: samples.count, autoencoderFinalLoss: pretrainingLoss,
                                  oneClassFinalLoss: oneClassLoss,
                                  seconds: pretrainingSeconds + Date().timeIntervalSince(start))
    }

    /// ``fitOneClass(normal:progress:)`` on samples held in one tensor `[N, ...]`.
    public func fitOneClass(normal samples: Tensor, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try fitOneClass(normal: TensorSource(samples), progress: progress)
    }

    /// Fits the tap scorers, the channel statistics and the threshold on `references`:
    /// the training samples (as phase 2 does), or other defect-free samples, such as every
    /// scored patch of the training images, which the nearest-neighbour score then
    /// searches. A reference is not its own neighbour.
    public func fitScorers(on references: any SampleSource) throws {
        try fitTapScorers(references)
        try fitLocalMaps(on: references)
        let raw = try channelScores(references, leaveOneOut: true)
        fusion.statistics = raw.map(ChannelStatistics.init)
        trainingScores = fusion.fuse(raw)
        thresholdRule = .trainingQuantile(nu: configuration.nu)
        threshold = try thresholdRule.threshold(referenceScores: trainingScores)
    }

    /// A copy of this fitted detector (its trained network, centroids and radii) whose
    /// nearest-neighbour references are at most `limit` per tap, a farthest-point coreset
    /// of `references` (see ``MOCCAConfiguration/referenceLimit``), with its scorers,
    /// statistics and threshold fitted again on them: a smaller, faster detector from one
    /// training run.
    /// - Throws: ``MOCCAError/notFitted``, and what fitting the scorers throws.
    public func limitingReferences(to limit: Int?, references: any SampleSource) throws -> MOCCADetector {
        guard isFitted else { throw MOCCAError.notFitted }
        var limited = configuration
        limited.referenceLimit = limit
        let copy = try copy(configuration: limited)
        copy.taps = taps.map { tap in
            var state = TapState(name: tap.name, centroid: tap.centroid)
            state.radius = tap.radius
            return state
        }
        copy.summary = summary
        try copy.fitScorers(on: references)
        return copy
    }

    /// Fits each tap's scorer, handing it the training representations where it needs them.
    private func fitTapScorers(_ samples: any SampleSource) throws {
        let scorer = configuration.tapScore.scorerType
        let representations = scorer.needsTrainingRepresentations ? try tapRepresentations(samples) : nil
        for l in taps.indices {
            taps[l].scorer = try scorer.init(fitting: taps[l], representations: representations?[l], configuration: configuration)
        }
    }

    private func checkTrainingSamples(_ samples: any SampleSource) throws {
        guard samples.sampleShape == network.inputShape else {
            throw MOCCAError.invalidData("the \(resolvedNetwork.specification.name) network takes samples of shape \(network.inputShape), got \(samples.sampleShape)")
        }
        guard samples.count >= 2 else {
            throw MOCCAError.invalidData("at least 2 normal samples are needed to train, got \(samples.count)")
        }
        if configuration.tapScore == .nearestNeighbor, configuration.neighbors >= samples.count {
            throw MOCCAError.invalidConfiguration("the nearest-neighbour score with k = \(configuration.neighbors) needs more than \(configuration.neighbors) normal samples, got \(samples.count)")
        }
    }

    /// The tap means over `samples`, with the ε-rule, summed batch by batch so that memory
    /// does not grow with the data set.
    private func computeCentroids(_ samples: any SampleSource) throws -> [Tensor] {
        var sums: [[Double]] = []
        try forEachTapBatch(samples) { _, _, vectors in
            if sums.isEmpty { sums = vectors.map { [Double](repeating: 0, count: $0.shape[1]) } }
            for (l, v) in vectors.enumerated() {
                let values = v.scalars, d = v.shape[1]
                for (i, value) in values.enumerated() { sums[l][i % d] += Double(value) }
            }
        }
        let n = Double(samples.count)
        return try sums.map { sum in
            let centroid = OneClassObjective.adjustedCentroid(sum.map { Float($0 / n) })
            return try Tensor(shape: [centroid.count], scalars: centroid)
        }
    }

    /// Each tap's representations of `samples`, `[N, D]`.
    private func tapRepresentations(_ samples: any SampleSource) throws -> [Tensor] {
        var values: [[Float]] = [], widths: [Int] = []
        try forEachTapBatch(samples) { _, _, vectors in
            if values.isEmpty {
                widths = vectors.map { $0.shape[1] }
                values = widths.map { width in
                    var row: [Float] = []
                    row.reserveCapacity(samples.count * width)
                    return row
                }
            }
            for (l, v) in vectors.enumerated() { values[l] += v.scalars }
        }
        return try zip(values, widths).map { try Tensor(shape: [samples.count, $1], scalars: $0) }
    }

    /// The length of each configured tap's vector, from one evaluation-mode pass over two zero samples.
    func tapWidths() throws -> [Int] {
        network.eval()
        defer { network.train() }
        return try withoutGradients {
            try network.tapVectors(Tensor(zeros: [2] + network.inputShape), taps: configuration.taps).map { $0.shape[1] }
        }
    }

    func snapshot(of model: TappedNetwork) throws -> TappedNetwork {
        var generator = RandomGenerator(seed: configuration.seed)
        let copy = try resolvedNetwork.makeNetwork(generator: &generator)
        try copy.load(model.stateDictionary())
        return copy
    }
}

/// What a fit measured.
public struct TrainingSummary: Codable, Sendable, Equatable {
    /// The number of normal samples trained on.
    public var normalCount: Int
    /// The autoencoder phase's mean batch loss in its last epoch (NaN with no epochs).
    public var autoencoderFinalLoss: Float
    /// The one-class phase's mean batch loss in its last epoch (NaN with no epochs).
    public var oneClassFinalLoss: Float
    /// Wall-clock seconds of training, both phases together.
    public var seconds: Double
}
