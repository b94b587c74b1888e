import Foundation
import MOCCACore
import MOCCAData
import MOCCAModels
import MOCCANN

/// A MOCCA anomaly detector: fit on normal images, then score, predict, save and load.
///
/// Fitting runs the method's two phases (see the DocC article *The MOCCA method*):
/// 1. an autoencoder is trained on the normal images to reconstruct them;
/// 2. its decoder is set aside, a centroid is computed for every tap from the normal
///    images, and the encoder is trained so that each tap's representation stays close
///    to its centroid (hard boundary) or inside a learned radius (soft boundary).
///
/// Scores follow scikit-learn and PyOD's convention: higher is more anomalous, and
/// ``predict(_:)`` flags scores above ``threshold``.
public final class MOCCADetector {
    /// The hyperparameters.
    public let configuration: MOCCAConfiguration
    /// The network whose encoder is trained in the one-class phase.
    public let network: TappedAutoencoder
    /// The autoencoder as it was after phase 1, kept for the reconstruction channel.
    public internal(set) var autoencoder: TappedAutoencoder?
    /// The preprocessing constants of the training data, applied to raw images at scoring.
    public var preprocessor: Preprocessor?
    /// Where the training data came from, for reports and for scoring new files.
    public var trainingData: TrainingDataDescription?
    /// One centroid per tap, in ``MOCCAConfiguration/taps`` order.
    public internal(set) var centroids: [Tensor] = []
    /// One radius per tap (zero for a hard boundary).
    public internal(set) var radii: [Float]
    /// For ``MOCCAConfiguration/TapScore/nearestNeighbor``: per tap, the representations
    /// of the normal training images `[N, D]`, standardised by ``referenceMeans`` and
    /// ``referenceScales``.
    public internal(set) var references: [Tensor] = []
    /// Per tap, each coordinate's mean over the training images, subtracted before the
    /// neighbour search (centred rows keep the distance arithmetic accurate).
    public internal(set) var referenceMeans: [Tensor] = []
    /// Per tap, the factor applied to each centred coordinate before the neighbour search:
    /// one over its standard deviation on the training images.
    public internal(set) var referenceScales: [Tensor] = []
    /// Each score channel's mean and standard deviation over the training images.
    public internal(set) var channelStatistics: [ChannelStatistics] = []
    /// How ``threshold`` was chosen.
    public internal(set) var thresholdRule: ThresholdRule
    /// Scores above this are anomalies.
    public internal(set) var threshold: Float = .infinity
    /// What the last fit measured.
    public internal(set) var summary: TrainingSummary?
    /// The fused scores of the training images after fitting, for re-calibrating the threshold.
    public internal(set) var trainingScores: [Float] = []
    /// Phase 1's last epoch's mean loss, and its duration.
    var pretrainingLoss: Float = .nan
    var pretrainingSeconds: Double = 0

    /// Whether ``fit(normal:progress:)`` has run (or a fitted detector was loaded).
    public var isFitted: Bool { !centroids.isEmpty }

    /// The score channels: the taps, then `reconstruction` when enabled.
    public var channels: [String] { configuration.taps + (configuration.reconstructionChannel ? ["reconstruction"] : []) }

    /// A detector with freshly initialised weights (seeded by ``MOCCAConfiguration/seed``).
    public init(configuration: MOCCAConfiguration) throws {
        try configuration.validate(availableTaps: configuration.model.tapNames)
        var generator = RandomGenerator(seed: configuration.seed)
        let network = try Self.makeNetwork(configuration, generator: &generator)
        self.configuration = configuration
        self.network = network
        self.radii = Array(repeating: 0, count: configuration.taps.count)
        self.thresholdRule = .trainingQuantile(nu: configuration.nu)
    }

    static func makeNetwork(_ configuration: MOCCAConfiguration, generator: inout RandomGenerator) throws -> TappedAutoencoder {
        switch configuration.model {
        case .cifar10LeNet: return try CIFAR10LeNetAutoencoder(codeLength: configuration.codeLength, generator: &generator)
        case .mnistLeNet: return try MNISTLeNetAutoencoder(codeLength: configuration.codeLength, generator: &generator)
        }
    }

    // MARK: Fitting

    /// Trains on preprocessed normal images `[N, C, H, W]` (both phases), then sets the
    /// channel statistics and the threshold from the training scores.
    /// - Throws: ``MOCCAError`` for unusable data or a non-finite loss.
    public func fit(normal images: Tensor, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try pretrain(normal: images, progress: progress)
        try fitOneClass(normal: images, progress: progress)
    }

    /// Phase 1: trains the autoencoder to reconstruct the normal images.
    public func pretrain(normal images: Tensor, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try checkTrainingImages(images)
        let start = Date()
        var sampler = BatchSampler(count: images.shape[0], batchSize: configuration.batchSize, seed: configuration.seed &+ 1)
        pretrainingLoss = try trainPhase(
            "autoencoder", epochs: configuration.autoencoderEpochs, parameters: network.parameters(),
            learningRate: configuration.autoencoderLearningRate, milestones: configuration.autoencoderMilestones,
            images: images, sampler: &sampler, progress: progress
        ) { batch, _ in try Tensor.meanSquaredError(self.network(batch), batch) }
        pretrainingSeconds = Date().timeIntervalSince(start)
        if configuration.reconstructionChannel { autoencoder = try snapshot(of: network) }
    }

    /// A detector with `configuration` (another boundary, ν, taps or one-class schedule)
    /// that starts from this detector's network and autoencoder as they are now, so that
    /// several one-class runs can share one pretrained autoencoder.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` unless the model and code length match.
    public func copy(configuration other: MOCCAConfiguration) throws -> MOCCADetector {
        guard other.model == configuration.model, other.codeLength == configuration.codeLength else {
            throw MOCCAError.invalidConfiguration("a copy must keep the model and code length (\(configuration.model.rawValue), \(configuration.codeLength))")
        }
        let copy = try MOCCADetector(configuration: other)
        try copy.network.load(network.stateDictionary())
        if other.reconstructionChannel { copy.autoencoder = try autoencoder.map(snapshot(of:)) ?? snapshot(of: network) }
        copy.preprocessor = preprocessor
        copy.pretrainingLoss = pretrainingLoss
        copy.pretrainingSeconds = pretrainingSeconds
        return copy
    }

    /// Phase 2 on a pretrained network: centroids, then the one-class objective on the
    /// encoder; then the channel statistics and the threshold.
    public func fitOneClass(normal images: Tensor, progress: ((TrainingProgress) -> Void)? = nil) throws {
        try checkTrainingImages(images)
        let start = Date()
        var sampler = BatchSampler(count: images.shape[0], batchSize: configuration.batchSize, seed: configuration.seed &+ 2)
        // The reconstruction channel needs the autoencoder as phase 1 left it.
        if configuration.reconstructionChannel && autoencoder == nil { autoencoder = try snapshot(of: network) }

        // Centroids of the pretrained encoder, in evaluation mode (running BatchNorm statistics).
        centroids = try computeCentroids(images)
        radii = Array(repeating: 0, count: configuration.taps.count)

        // The encoder is trained towards the centroids; the decoder is unused.
        let nu = configuration.nu
        var distances: [Tensor] = []
        let oneClassLoss = try trainPhase(
            "one-class", epochs: configuration.oneClassEpochs, parameters: network.encoderParameters,
            learningRate: configuration.oneClassLearningRate, milestones: configuration.oneClassMilestones,
            images: images, sampler: &sampler, progress: progress,
            objective: { batch, _ in
                let vectors = try self.network.tapVectors(batch, taps: self.configuration.taps)
                distances = try zip(vectors, self.centroids).map { try $0.squaredDistance(to: $1) }
                var total: Tensor?
                for (l, d) in distances.enumerated() {
                    let term = try OneClassObjective.loss(distances: d, boundary: self.configuration.boundary, radius: self.radii[l], nu: nu)
                    total = try total.map { try $0 + term } ?? term
                }
                return total ?? Tensor(0)
            },
            afterStep: { epoch in
                // Deep SVDD: radii move after each step once the warm-up epochs are over.
                guard self.configuration.boundary == .soft, epoch >= self.configuration.warmUpEpochs else { return }
                for (l, d) in distances.enumerated() { self.radii[l] = OneClassObjective.radius(distances: d.scalars, nu: nu) }
            })

        // Statistics and threshold from the training scores; a training image is not its
        // own neighbour.
        if configuration.tapScore == .nearestNeighbor { try computeReferences(images) }
        let raw = try channelScores(images, leaveOneOut: true)
        channelStatistics = raw.map(ChannelStatistics.init)
        trainingScores = fuse(raw)
        thresholdRule = .trainingQuantile(nu: configuration.nu)
        threshold = try thresholdRule.threshold(referenceScores: trainingScores)
        summary = TrainingSummary(normalCount: images.shape[0], autoencoderFinalLoss: pretrainingLoss,
                                  oneClassFinalLoss: oneClassLoss,
                                  seconds: pretrainingSeconds + Date().timeIntervalSince(start))
    }

    private func checkTrainingImages(_ images: Tensor) throws {
        try network.checkInput(images)
        guard images.shape[0] >= 2 else {
            throw MOCCAError.invalidData("at least 2 normal images are needed to train, got \(images.shape[0])")
        }
        guard images.isFinite else { throw MOCCAError.invalidData("the normal images hold NaN or infinite values") }
        if configuration.tapScore == .nearestNeighbor, configuration.neighbors >= images.shape[0] {
            throw MOCCAError.invalidConfiguration("the nearest-neighbour score with k = \(configuration.neighbors) needs more than \(configuration.neighbors) normal images, got \(images.shape[0])")
        }
    }

    /// Runs one training phase and returns its last epoch's mean loss.
    private func trainPhase(
        _ phase: String, epochs: Int, parameters: [Tensor], learningRate: Float, milestones: [Int],
        images: Tensor, sampler: inout BatchSampler, progress: ((TrainingProgress) -> Void)?,
        objective: (Tensor, Int) throws -> Tensor, afterStep: (Int) -> Void = { _ in }
    ) throws -> Float {
        guard epochs > 0 else { return .nan }
        // The next phase (scoring at another batch size) reuses none of these buffers.
        defer { Tensor.releaseCachedBuffers() }
        network.train()
        let optimizer = Adam(parameters: parameters, learningRate: learningRate, weightDecay: configuration.weightDecay)
        let schedule = MultiStepLR(optimizer: optimizer, milestones: milestones)
        let phaseStart = Date()
        var lastLoss: Float = .nan
        var imagesSeen = 0
        for epoch in 0..<epochs {
            // BatchNorm cannot train on a single sample: drop a last batch of one.
            let batches = sampler.nextEpoch().filter { $0.count >= 2 }
            var total: Double = 0
            for (index, rows) in batches.enumerated() {
                let batch = try images.gatheringRows(rows)
                optimizer.zeroGradients()
                let loss = try objective(batch, epoch)
                let value = loss.item
                guard value.isFinite else { throw MOCCAError.nonFiniteLoss(phase: phase, epoch: epoch + 1, batch: index + 1) }
                try loss.backward()
                try optimizer.step()
                afterStep(epoch)
                total += Double(value)
                imagesSeen += rows.count
                if let progress {
                    let elapsed = Date().timeIntervalSince(phaseStart)
                    let rate = Double(imagesSeen) / max(elapsed, 1e-9)
                    let remaining = Double((epochs - epoch) * sampler.count - (index + 1) * configuration.batchSize)
                    progress(TrainingProgress(
                        phase: phase, epoch: epoch + 1, epochs: epochs, batch: index + 1, batches: batches.count,
                        loss: Float(total / Double(index + 1)), imagesPerSecond: rate,
                        secondsRemaining: max(0, remaining) / max(rate, 1e-9)))
                }
            }
            lastLoss = Float(total / Double(max(batches.count, 1)))
            schedule.step()
        }
        return lastLoss
    }

    /// Calls `body` with each scoring batch's rows and tap vectors `[B, D]` of `images`, in
    /// evaluation mode and without gradients.
    private func forEachTapBatch(_ images: Tensor, _ body: (Range<Int>, [Tensor]) throws -> Void) throws {
        network.eval()
        defer {
            network.train()
            Tensor.releaseCachedBuffers()
        }
        try withoutGradients {
            for rows in Self.chunks(of: images.shape[0], size: Self.scoringBatch) {
                try body(rows, network.tapVectors(images.slice(alongAxis: 0, rows), taps: configuration.taps))
            }
        }
    }

    /// Each tap's representations of `images`, row-major `[N · D]`, with their width `D`.
    private func tapRepresentations(_ images: Tensor) throws -> [(values: [Float], width: Int)] {
        var representations: [(values: [Float], width: Int)] = []
        try forEachTapBatch(images) { _, vectors in
            if representations.isEmpty {
                representations = vectors.map { v in
                    var values: [Float] = []
                    values.reserveCapacity(images.shape[0] * v.shape[1])
                    return (values, v.shape[1])
                }
            }
            for (l, v) in vectors.enumerated() { representations[l].values += v.scalars }
        }
        return representations
    }

    /// Per-coordinate means and standard deviations of row-major `[N · width]` values.
    private static func columnStatistics(_ values: [Float], width: Int) -> (mean: [Double], standardDeviation: [Double]) {
        var sum = [Double](repeating: 0, count: width), squares = sum
        for (i, value) in values.enumerated() {
            sum[i % width] += Double(value)
            squares[i % width] += Double(value) * Double(value)
        }
        let n = Double(max(values.count / max(width, 1), 1))
        let mean = sum.map { $0 / n }
        let deviation = zip(squares, mean).map { max(0, $0 / n - $1 * $1).squareRoot() }
        return (mean, deviation)
    }

    /// The tap means over `images`, with the ε-rule, summed batch by batch so that memory
    /// does not grow with the data set.
    private func computeCentroids(_ images: Tensor) throws -> [Tensor] {
        var sums: [[Double]] = []
        try forEachTapBatch(images) { _, vectors in
            if sums.isEmpty { sums = vectors.map { [Double](repeating: 0, count: $0.shape[1]) } }
            for (l, v) in vectors.enumerated() {
                let values = v.scalars, d = v.shape[1]
                for (i, value) in values.enumerated() { sums[l][i % d] += Double(value) }
            }
        }
        let n = Double(images.shape[0])
        return try sums.map { sum in
            let centroid = OneClassObjective.adjustedCentroid(sum.map { Float($0 / n) })
            return try Tensor(shape: [centroid.count], scalars: centroid)
        }
    }

    /// Stores each tap's training representations, standardised per coordinate, for the
    /// nearest-neighbour score. A coordinate's deviation is floored at 1e-3 of the tap's
    /// mean deviation, so that one that barely varied in training cannot dominate.
    private func computeReferences(_ images: Tensor) throws {
        references = []
        referenceMeans = []
        referenceScales = []
        for (values, width) in try tapRepresentations(images) {
            let (mean, deviation) = Self.columnStatistics(values, width: width)
            let floor = 1e-3 * deviation.reduce(0, +) / Double(max(width, 1))
            let means = try Tensor(shape: [width], scalars: mean.map { Float($0) })
            let scales = try Tensor(shape: [width], scalars: deviation.map { Float(1 / max($0, floor, 1e-12)) })
            references.append(try Self.standardize(Tensor(shape: [values.count / width, width], scalars: values), mean: means, scale: scales))
            referenceMeans.append(means)
            referenceScales.append(scales)
        }
    }

    /// `(rows − mean) · scale` per coordinate, for rows `[N, D]`.
    private static func standardize(_ rows: Tensor, mean: Tensor, scale: Tensor) throws -> Tensor {
        let (m, s, width) = (mean.scalars, scale.scalars, rows.shape[1])
        return try Tensor(shape: rows.shape, scalars: rows.scalars.enumerated().map { ($0.element - m[$0.offset % width]) * s[$0.offset % width] })
    }

    private func snapshot(of model: TappedAutoencoder) throws -> TappedAutoencoder {
        var generator = RandomGenerator(seed: configuration.seed)
        let copy = try Self.makeNetwork(configuration, generator: &generator)
        try copy.load(model.stateDictionary())
        return copy
    }

    // MARK: Scoring

    /// `0..<count` cut into consecutive ranges of `size` (the last one shorter).
    static func chunks(of count: Int, size: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: size).map { $0..<min($0 + size, count) }
    }

    /// Images per forward pass when scoring: throughput is flat from 128 up, and memory
    /// grows with it.
    static let scoringBatch = 128

    /// Scores preprocessed images `[N, C, H, W]`, overall and per channel.
    public func score(_ images: Tensor) throws -> Scores {
        guard isFitted else { throw MOCCAError.notFitted }
        try network.checkInput(images)
        let raw = try channelScores(images)
        return Scores(overall: fuse(raw), channels: channels, perChannel: raw)
    }

    /// Images preprocessed per chunk when a detector scores raw images: large enough to
    /// keep the network busy, small enough that memory does not grow with the data set.
    public static let preprocessingChunk = 1024

    /// Scores raw images with the detector's own preprocessing constants, a chunk at a time.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` when the detector has no
    ///   preprocessing constants (it was fitted on tensors: score tensors then).
    public func score(_ images: ImageDataset) throws -> Scores {
        guard isFitted else { throw MOCCAError.notFitted }
        guard let preprocessor else {
            throw MOCCAError.invalidConfiguration("the detector has no preprocessing constants; preprocess the images and score the tensor")
        }
        var result = Scores(overall: [], channels: channels, perChannel: channels.map { _ in [] })
        for rows in Self.chunks(of: images.count, size: Self.preprocessingChunk) {
            let chunk = try score(preprocessor.apply(images, indices: Array(rows)))
            result.overall += chunk.overall
            for k in result.perChannel.indices { result.perChannel[k] += chunk.perChannel[k] }
        }
        return result
    }

    /// Whether each image is an anomaly: its score is above ``threshold``.
    public func predict(_ images: Tensor) throws -> [Bool] {
        try score(images).overall.map { $0 > threshold }
    }

    /// Sets the threshold by a rule; `referenceScores` are the held-out normal scores for
    /// ``ThresholdRule/falsePositiveRate(rate:)`` and the training scores otherwise.
    public func setThreshold(_ rule: ThresholdRule, referenceScores: [Float]) throws {
        threshold = try rule.threshold(referenceScores: referenceScores)
        thresholdRule = rule
    }

    /// Sets the threshold by a rule, from the stored training scores, or for a target false
    /// positive rate from preprocessed held-out normal images `[N, C, H, W]`.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` when the rule needs held-out
    ///   normal images and none are given.
    public func calibrate(_ rule: ThresholdRule, heldOutNormal: Tensor? = nil) throws {
        guard isFitted else { throw MOCCAError.notFitted }
        switch rule {
        case .falsePositiveRate:
            guard let heldOutNormal else {
                throw MOCCAError.invalidConfiguration("a target false positive rate needs held-out normal images")
            }
            try setThreshold(rule, referenceScores: score(heldOutNormal).overall)
        default:
            try setThreshold(rule, referenceScores: trainingScores)
        }
    }

    /// Unfused scores, channel-major, in evaluation mode. With `leaveOneOut`, `images` are
    /// the training images themselves, and none is its own nearest neighbour.
    private func channelScores(_ images: Tensor, leaveOneOut: Bool = false) throws -> [[Float]] {
        network.eval()
        autoencoder?.eval()
        defer { Tensor.releaseCachedBuffers() }
        var perChannel = [[Float]](repeating: [], count: channels.count)
        try withoutGradients {
            for rows in Self.chunks(of: images.shape[0], size: Self.scoringBatch) {
                let batch = try images.slice(alongAxis: 0, rows)
                let vectors = try network.tapVectors(batch, taps: configuration.taps)
                for (l, v) in vectors.enumerated() {
                    switch configuration.tapScore {
                    case .centroid:
                        let d = try v.squaredDistance(to: centroids[l]).scalars
                        perChannel[l] += OneClassObjective.score(distances: d, boundary: configuration.boundary, radius: radii[l])
                    case .nearestNeighbor:
                        let standardized = try Self.standardize(v, mean: referenceMeans[l], scale: referenceScales[l])
                        perChannel[l] += try standardized.nearestNeighborDistances(
                            to: references[l], k: configuration.neighbors, selfOffset: leaveOneOut ? rows.lowerBound : nil).scalars
                    }
                }
                if let autoencoder {
                    let error = try (autoencoder(batch) - batch).squared().sum(alongAxes: [1, 2, 3])
                    perChannel[channels.count - 1] += error.scalars
                }
            }
        }
        return perChannel
    }

    /// One score per sample from the channels: their mean (the paper), or the mean of
    /// standardised channels (with ``MOCCAConfiguration/Fusion/standardized``, and always
    /// when the channels' scales differ: with the reconstruction channel or the
    /// nearest-neighbour tap score).
    func fuse(_ perChannel: [[Float]]) -> [Float] {
        let standardize = configuration.fusion == .standardized || configuration.reconstructionChannel
            || configuration.tapScore == .nearestNeighbor
        return fuse(perChannel, fusion: standardize ? .standardized : .mean)
    }

    /// Fuses unfused channel scores (as in ``Scores/perChannel``) with a given rule. The
    /// plain mean covers the taps only (the paper's score); the standardised mean covers
    /// every channel, the reconstruction channel included.
    public func fuse(_ perChannel: [[Float]], fusion: MOCCAConfiguration.Fusion) -> [Float] {
        let tapCount = min(configuration.taps.count, perChannel.count)
        return fuse(perChannel, fusion: fusion, channels: Array(0..<(fusion == .mean ? tapCount : perChannel.count)))
    }

    /// Fuses a chosen subset of the channels (indices into `perChannel`) with a given rule,
    /// so that tap combinations can be compared on one trained detector.
    public func fuse(_ perChannel: [[Float]], fusion: MOCCAConfiguration.Fusion, channels: [Int]) -> [Float] {
        let count = channels.first.map { perChannel[$0].count } ?? 0
        return (0..<count).map { i in
            var total: Float = 0
            for k in channels {
                total += fusion == .standardized && k < channelStatistics.count ? channelStatistics[k].standardize(perChannel[k][i]) : perChannel[k][i]
            }
            return total / Float(channels.count)
        }
    }
}

/// What a fit measured.
public struct TrainingSummary: Codable, Sendable, Equatable {
    /// The number of normal images trained on.
    public var normalCount: Int
    /// The autoencoder phase's mean batch loss in its last epoch (NaN with no epochs).
    public var autoencoderFinalLoss: Float
    /// The one-class phase's mean batch loss in its last epoch (NaN with no epochs).
    public var oneClassFinalLoss: Float
    /// Wall-clock seconds of training, both phases together.
    public var seconds: Double
}
