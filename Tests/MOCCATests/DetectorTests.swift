import Foundation
import MOCCA
import MOCCACore
import MOCCAData
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

/// Tiny synthetic MNIST-sized data: normal images are smooth blobs near the centre plus
/// noise; anomalies are stripes and checkerboards.
enum SyntheticImages {
    static let side = 28

    static func normal(count: Int, seed: UInt64) throws -> Tensor {
        var generator = RandomGenerator(seed: seed)
        var values: [Float] = []
        values.reserveCapacity(count * side * side)
        for _ in 0..<count {
            let cx = 14 + 6 * (generator.nextUniform() - 0.5), cy = 14 + 6 * (generator.nextUniform() - 0.5)
            let sigma = 3 + 2 * generator.nextUniform()
            for y in 0..<side {
                for x in 0..<side {
                    let r2 = (Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy)
                    let value = 0.9 * exp(-r2 / (2 * sigma * sigma)) + 0.05 * generator.nextUniform()
                    values.append(min(max(value, 0), 1))
                }
            }
        }
        return try Tensor(shape: [count, 1, side, side], scalars: values)
    }

    static func anomalies(count: Int, seed: UInt64) throws -> Tensor {
        var generator = RandomGenerator(seed: seed)
        var values: [Float] = []
        for i in 0..<count {
            let period = 2 + i % 4
            for y in 0..<side {
                for x in 0..<side {
                    let on = i % 2 == 0 ? (x / period) % 2 == 0 : ((x / period) + (y / period)) % 2 == 0
                    values.append((on ? 0.85 : 0.1) + 0.05 * generator.nextUniform())
                }
            }
        }
        return try Tensor(shape: [count, 1, side, side], scalars: values)
    }

    /// `normal` then `anomalies` along axis 0, with labels 0 then 1.
    static func labelled(normal: Int, anomalies count: Int, seed: UInt64) throws -> (Tensor, [Int]) {
        let a = try Self.normal(count: normal, seed: seed), b = try Self.anomalies(count: count, seed: seed &+ 1)
        let images = try Tensor(shape: [normal + count, 1, side, side], scalars: a.scalars + b.scalars)
        return (images, Array(repeating: 0, count: normal) + Array(repeating: 1, count: count))
    }
}

@Suite("MOCCA detector", .serialized)
struct DetectorTests {
    static let taps = ["conv1", "conv2", "code"]

    /// A small MNIST LeNet configuration: 2 + 2 epochs of batches of 16.
    static func configuration(seed: UInt64 = 1, epochs: Int = 2) -> MOCCAConfiguration {
        var configuration = MOCCAConfiguration(recipe: .paper)
        configuration.network = mnistNetwork(codeLength: 32)
        configuration.taps = taps
        configuration.autoencoderEpochs = epochs
        configuration.oneClassEpochs = epochs
        configuration.batchSize = 16
        configuration.seed = seed
        return configuration
    }

    static let train = try! SyntheticImages.normal(count: 40, seed: 11)
    static let test = try! SyntheticImages.labelled(normal: 10, anomalies: 10, seed: 21)

    static func fitted(_ configuration: MOCCAConfiguration) throws -> MOCCADetector {
        let detector = try MOCCADetector(configuration: configuration)
        try detector.fit(normal: train)
        return detector
    }

    /// Asserts that `body` throws ``MOCCAError/invalidConfiguration(_:)``.
    static func expectInvalidConfiguration(_ label: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("\(label): no error", sourceLocation: sourceLocation)
        } catch let error as MOCCAError {
            guard case .invalidConfiguration = error else {
                Issue.record("\(label): got \(error)", sourceLocation: sourceLocation)
                return
            }
        } catch {
            Issue.record("\(label): expected MOCCAError.invalidConfiguration, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
    }

    /// Asserts that `body` throws ``MOCCAError/invalidDetector(path:reason:)`` for `path`.
    static func expectInvalidDetector(_ path: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
        do {
            try body()
            Issue.record("loading \(path) succeeded", sourceLocation: sourceLocation)
        } catch let error as MOCCAError {
            guard case .invalidDetector(let reported, _) = error else {
                Issue.record("got \(error)", sourceLocation: sourceLocation)
                return
            }
            #expect(reported == path, sourceLocation: sourceLocation)
            #expect(error.description.contains(path), sourceLocation: sourceLocation)
        } catch {
            Issue.record("expected MOCCAError.invalidDetector, got \(type(of: error)): \(error)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Configuration

    static let badOptions = [
        "unknown tap conv3", "nu 0", "nu 1", "nu 1.5", "nu -0.1", "nu NaN", "duplicate tap", "no taps",
        "batch size 1", "negative epochs", "zero learning rate", "negative weight decay", "zero neighbours",
    ]

    static func configuration(with badOption: String) -> MOCCAConfiguration {
        var c = configuration()
        switch badOption {
        case "unknown tap conv3": c.taps = ["conv1", "conv3"]
        case "nu 0": c.nu = 0
        case "nu 1": c.nu = 1
        case "nu 1.5": c.nu = 1.5
        case "nu -0.1": c.nu = -0.1
        case "nu NaN": c.nu = .nan
        case "duplicate tap": c.taps = ["conv1", "code", "conv1"]
        case "no taps": c.taps = []
        case "batch size 1": c.batchSize = 1
        case "negative epochs": c.oneClassEpochs = -1
        case "zero learning rate": c.autoencoderLearningRate = 0
        case "negative weight decay": c.weightDecay = -1e-6
        case "zero neighbours": c.neighbors = 0
        default: Issue.record("unknown case \(badOption)")
        }
        return c
    }

    @Test(arguments: badOptions)
    func badOptionIsAnInvalidConfiguration(option: String) {
        let configuration = Self.configuration(with: option)
        Self.expectInvalidConfiguration(option) { _ = try MOCCADetector(configuration: configuration) }
        Self.expectInvalidConfiguration(option) { try configuration.validate() }
    }

    @Test(arguments: [20, 0, -16, 8])
    func codeLengthThatIsNotAPositiveMultipleOf16IsAnInvalidConfiguration(codeLength: Int) {
        var configuration = Self.configuration()
        configuration.network = mnistNetwork(codeLength: codeLength)
        Self.expectInvalidConfiguration("validate, code length \(codeLength)") { try configuration.validate() }
        Self.expectInvalidConfiguration("detector, code length \(codeLength)") { _ = try MOCCADetector(configuration: configuration) }
    }

    @Test func boundaryValuesAreAccepted() throws {
        var configuration = Self.configuration()
        // ν = 1 is refused: the default threshold, the (1 − ν) quantile, needs ν < 1.
        configuration.nu = 0.999
        configuration.batchSize = 2
        configuration.autoencoderEpochs = 0
        configuration.oneClassEpochs = 0
        configuration.weightDecay = 0
        configuration.taps = ["code"]
        let detector = try MOCCADetector(configuration: configuration)
        #expect(!detector.isFitted)
        #expect(detector.channels == ["code"])
    }

    @Test func theDefaultTapsOfTheMNISTModelAreConv1Conv2AndCode() throws {
        var generator = RandomGenerator(seed: 0)
        let model = try MNISTLeNetAutoencoder(codeLength: 32, generator: &generator)
        #expect(model.tapNames == Self.taps)
    }

    // MARK: Fitting and scoring

    @Test func fitGivesNonZeroCentroidsAndFiniteScoresThatVaryPerChannel() throws {
        let detector = try Self.fitted(Self.configuration())
        #expect(detector.isFitted)
        #expect(detector.taps.map(\.centroid).count == Self.taps.count)
        #expect(detector.taps.map(\.centroid).map { $0.shape } == [[8], [4], [32]])
        for (tap, centroid) in zip(Self.taps, detector.taps.map(\.centroid)) {
            #expect(centroid.scalars.contains { $0 != 0 }, "centroid of \(tap) is all zero")
            #expect(centroid.isFinite, "\(tap)")
        }
        let scores = try detector.score(Self.test.0)
        #expect(scores.channels == Self.taps)
        #expect(scores.overall.count == 20)
        #expect(scores.overall.allSatisfy { $0.isFinite })
        for (name, channel) in zip(scores.channels, scores.perChannel) {
            #expect(channel.count == 20)
            #expect(channel.allSatisfy { $0.isFinite }, "\(name)")
            #expect(channel.allSatisfy { $0 >= 0 }, "\(name): a hard boundary's score is a squared distance")
            #expect(Set(channel).count > 1, "\(name) is constant")
        }
        #expect(detector.threshold.isFinite)
        #expect(detector.taps.map(\.radius) == [0, 0, 0])
        #expect(detector.summary?.normalCount == 40)
        #expect(detector.summary.map { $0.autoencoderFinalLoss.isFinite && $0.oneClassFinalLoss.isFinite } == true)
    }

    @Test func meanFusionIsTheMeanOfTheTapChannels() throws {
        let detector = try Self.fitted(Self.configuration(epochs: 1))
        let scores = try detector.score(Self.test.0)
        for i in scores.overall.indices {
            let mean = scores.perChannel.map { $0[i] }.reduce(0, +) / Float(scores.perChannel.count)
            #expect(abs(scores.overall[i] - mean) <= 1e-5 * max(1, abs(mean)))
        }
        // The standardised fusion uses the training statistics of each channel.
        let standardized = detector.fuse(scores.perChannel, fusion: .standardized)
        for i in scores.overall.indices {
            let z = zip(scores.perChannel, detector.fusion.statistics).map { ($0[i] - $1.mean) / $1.standardDeviation }
            let expected = z.reduce(0, +) / Float(z.count)
            #expect(abs(standardized[i] - expected) <= 1e-4 * max(1, abs(expected)))
        }
    }

    @Test func thresholdIsTheOneMinusNuQuantileOfTrainingScoresAndPredictUsesIt() throws {
        let detector = try Self.fitted(Self.configuration(epochs: 1))
        let training = try detector.score(Self.train).overall
        #expect(detector.threshold == quantile(training, 1 - detector.configuration.nu))
        #expect(detector.thresholdRule == .trainingQuantile(nu: 0.1))
        let scores = try detector.score(Self.test.0).overall
        #expect(try detector.predict(Self.test.0) == scores.map { $0 > detector.threshold })

        try detector.setThreshold(.falsePositiveRate(rate: 0.5), referenceScores: [1, 2, 3, 4])
        #expect(detector.threshold == 2.5)
        #expect(detector.thresholdRule == .falsePositiveRate(rate: 0.5))
        Self.expectInvalidConfiguration("rate 2") { try detector.setThreshold(.contamination(rate: 2), referenceScores: [1, 2]) }
        #expect(detector.threshold == 2.5, "a failed rule leaves the threshold alone")
        #expect(detector.thresholdRule == .falsePositiveRate(rate: 0.5))
    }

    @Test func sameSeedGivesIdenticalScores() throws {
        let a = try Self.fitted(Self.configuration(seed: 7))
        let b = try Self.fitted(Self.configuration(seed: 7))
        let sa = try a.score(Self.test.0), sb = try b.score(Self.test.0)
        #expect(sa.overall == sb.overall)
        #expect(sa.perChannel == sb.perChannel)
        #expect(a.threshold == b.threshold)
        #expect(a.taps.map(\.centroid.scalars) == b.taps.map(\.centroid.scalars))
    }

    @Test func differentSeedGivesDifferentScores() throws {
        let a = try Self.fitted(Self.configuration(seed: 7, epochs: 1))
        let b = try Self.fitted(Self.configuration(seed: 8, epochs: 1))
        let sa = try a.score(Self.test.0), sb = try b.score(Self.test.0)
        #expect(sa.overall != sb.overall)
        for k in sa.perChannel.indices { #expect(sa.perChannel[k] != sb.perChannel[k], "\(sa.channels[k])") }
    }

    @Test func softBoundaryWithoutWarmUpLearnsNonNegativeRadii() throws {
        var configuration = Self.configuration()
        configuration.boundary = .soft
        configuration.warmUpEpochs = 0
        let detector = try Self.fitted(configuration)
        #expect(detector.taps.map(\.radius).count == Self.taps.count)
        #expect(detector.taps.map(\.radius).allSatisfy { $0 >= 0 && $0.isFinite }, "\(detector.taps.map(\.radius))")
        #expect(detector.taps.map(\.radius).contains { $0 > 0 }, "\(detector.taps.map(\.radius))")
        // Soft scores are d − R²: some training samples lie inside each sphere.
        let scores = try detector.score(Self.train)
        for (k, channel) in scores.perChannel.enumerated() where detector.taps.map(\.radius)[k] > 0 {
            #expect(channel.allSatisfy { $0.isFinite })
            #expect(channel.contains { $0 < 0 }, "\(scores.channels[k]): nothing inside R = \(detector.taps.map(\.radius)[k])")
        }
    }

    @Test func softBoundaryRadiiStayZeroDuringWarmUp() throws {
        var configuration = Self.configuration(epochs: 1)
        configuration.boundary = .soft
        configuration.warmUpEpochs = 5
        let detector = try Self.fitted(configuration)
        #expect(detector.taps.map(\.radius) == [0, 0, 0])
    }

    @Test func reconstructionChannelComesLastAndDiffersFromTheTaps() throws {
        var configuration = Self.configuration()
        configuration.reconstructionChannel = true
        configuration.fusion = .standardized
        let detector = try Self.fitted(configuration)
        #expect(detector.autoencoder != nil)
        let scores = try detector.score(Self.test.0)
        #expect(scores.channels == Self.taps + ["reconstruction"])
        #expect(scores.perChannel.count == 4)
        let reconstruction = try #require(scores.channel("reconstruction"))
        #expect(reconstruction.allSatisfy { $0.isFinite && $0 >= 0 })
        #expect(Set(reconstruction).count > 1)
        for tap in Self.taps { #expect(scores.channel(tap) != reconstruction, "\(tap)") }
        #expect(detector.fusion.statistics.count == 4)
        // With the reconstruction channel the fusion is standardised over all channels.
        #expect(scores.overall == detector.fuse(scores.perChannel, fusion: .standardized))
    }

    /// Scoring folds BatchNorm into the convolutions a tap does not read and fuses the
    /// activations (`InferenceFusion`); every channel's scores stay within 1e-5 relative of
    /// the unfused layers', for all taps (conv taps keep their raw outputs) and for the code
    /// alone (the whole encoder folded).
    @Test(arguments: [taps, ["code"]])
    func fusedScoresMatchTheUnfusedLayers(taps: [String]) throws {
        var configuration = Self.configuration()
        configuration.taps = taps
        configuration.reconstructionChannel = true
        configuration.fusion = .standardized
        let detector = try Self.fitted(configuration)
        let fused = try detector.score(Self.test.0)
        let reference = try InferenceFusion.$isEnabled.withValue(false) { try detector.score(Self.test.0) }
        #expect(fused.channels == reference.channels)
        func expectClose(_ new: [Float], _ old: [Float], _ what: String, floor: Float) {
            let magnitude = old.map(abs).max() ?? 1
            let worst = zip(new, old).map { abs($0 - $1) / (1e-5 * abs($1) + floor * magnitude) }.max() ?? 0
            #expect(worst <= 1, "\(what): \(worst) tolerances from the unfused scores")
        }
        for (channel, (new, old)) in zip(fused.channels, zip(fused.perChannel, reference.perChannel)) {
            expectClose(new, old, channel, floor: 1e-7)
        }
        // The standardised fusion subtracts the training scores' means, so a sample's overall
        // score can be near zero: it is held to 1e-5 of the largest overall score.
        expectClose(fused.overall, reference.overall, "overall", floor: 1e-5)
    }

    /// Training never runs fused: the centroids that steer it are taken unfused, so the
    /// trained network and centroids are bit for bit those of an unfused run. (The CIFAR-10
    /// network with the code as its only tap, so that every convolution could fold and the
    /// code's centroid is not all ε-rule values, which would hide a difference.)
    @Test func fusionLeavesTrainingUnchanged() throws {
        var configuration = Self.configuration(epochs: 1)
        configuration.network = NetworkSpecification(name: "cifar10-lenet", configuration: .object(["codeLength": .number(32)]))
        configuration.taps = ["code"]
        var generator = RandomGenerator(seed: 6)
        let images = Tensor.uniform(shape: [24, 3, 32, 32], using: &generator)
        func fitted() throws -> MOCCADetector {
            let detector = try MOCCADetector(configuration: configuration)
            try detector.fit(normal: images)
            return detector
        }
        let fused = try fitted()
        let unfused = try InferenceFusion.$isEnabled.withValue(false) { try fitted() }
        let sameCentroids = fused.taps.map(\.centroid.scalars) == unfused.taps.map(\.centroid.scalars)
        #expect(sameCentroids, "the centroids differ")
        let weights = unfused.network.stateDictionary()
        let differing = fused.network.stateDictionary().filter { key, tensor in tensor.scalars != weights[key]?.scalars }.keys
        #expect(differing.isEmpty, "trained tensors differ: \(differing.sorted())")
    }

    @Test func channelSubsetAUROCsCoverEverySubsetAndAgreeWithTheFullFusions() throws {
        var configuration = Self.configuration()
        configuration.reconstructionChannel = true
        configuration.fusion = .standardized
        let detector = try Self.fitted(configuration)
        let (images, labels) = Self.test
        let scores = try detector.score(images)
        let report = try detector.evaluate(scores, labels: labels)
        let subsets = try detector.channelSubsetAUROCs(scores, labels: labels)
        // 3 taps: 7 tap-only subsets for the plain mean; 4 channels: 15 standardised subsets.
        #expect(subsets["mean"]?.count == 7)
        #expect(subsets["standardized"]?.count == 15)
        #expect(subsets["mean"]?["reconstruction"] == nil, "the plain mean never mixes in the reconstruction error")
        let taps = Self.taps.joined(separator: "+")
        #expect(subsets["mean"]?[taps] == report.meanFusion.auroc)
        #expect(subsets["standardized"]?[taps + "+reconstruction"] == report.standardizedFusion.auroc)
        for (k, channel) in scores.channels.enumerated() {
            #expect(subsets["standardized"]?[channel] == report.perChannel[k].auroc, "\(channel)")
        }
    }

    @Test func scoringRawImagesPreprocessesThemInChunksLikeTheTensorPath() throws {
        let detector = try Self.fitted(Self.configuration(epochs: 1))
        // More images than several scoring batches, so that batches are stitched together.
        let count = 1031
        var generator = RandomGenerator(seed: 5)
        let pixels = (0..<(count * 28 * 28)).map { _ in UInt8(generator.nextUniform() * 255) }
        let images = try ImageDataset(imageShape: [1, 28, 28], pixels: pixels, labels: Array(repeating: 0, count: count),
                                  classNames: ["x"], sources: (0..<count).map { "image\($0)" })
        let noConstants = #expect(throws: MOCCAError.self) { try detector.score(images) }
        guard case .invalidConfiguration? = noConstants else { Issue.record("got \(String(describing: noConstants))"); return }

        detector.preprocessor = try Preprocessor.fit(on: images)
        let streamed = try detector.score(images)
        let whole = try detector.score(try #require(detector.preprocessor).apply(images))
        #expect(streamed.overall.count == count)
        #expect(streamed.overall == whole.overall)
        #expect(streamed.perChannel == whole.perChannel)
    }

    // MARK: Errors

    @Test func fittingOnOneImageIsInvalidData() throws {
        let detector = try MOCCADetector(configuration: Self.configuration())
        let one = try Self.train.gatheringRows([0])
        let error = #expect(throws: MOCCAError.self) { try detector.fit(normal: one) }
        guard case .invalidData? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test(arguments: [Float.nan, .infinity])
    func fittingOnNonFiniteImagesIsInvalidData(bad: Float) throws {
        let detector = try MOCCADetector(configuration: Self.configuration())
        let images = try Self.train.gatheringRows(Array(0..<4))
        images.unsafeScalarPointer[100] = bad
        let error = #expect(throws: MOCCAError.self) { try detector.fit(normal: images) }
        guard case .invalidData? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func fittingOrScoringImagesOfTheWrongShapeIsAnError() throws {
        let detector = try MOCCADetector(configuration: Self.configuration())
        for shape in [[4, 3, 32, 32], [4, 28, 28]] {
            let error = #expect(throws: MOCCAError.self) { try detector.fit(normal: Tensor(zeros: shape)) }
            guard case .invalidData(let message)? = error else { Issue.record("got \(String(describing: error))"); continue }
            #expect(message.contains("[1, 28, 28]") && message.contains("\(Array(shape.dropFirst()))"), "\(message)")
        }
        let fitted = try Self.fitted(Self.configuration(epochs: 0))
        #expect(throws: TensorError.self) { try fitted.score(Tensor(zeros: [2, 1, 32, 32])) }
    }

    @Test func scoringBeforeFitIsNotFitted() throws {
        let detector = try MOCCADetector(configuration: Self.configuration())
        #expect(!detector.isFitted)
        let error = #expect(throws: MOCCAError.self) { try detector.score(Self.test.0) }
        #expect(error == .notFitted)
        let predicted = #expect(throws: MOCCAError.self) { try detector.predict(Self.test.0) }
        #expect(predicted == .notFitted)
        let evaluated = #expect(throws: MOCCAError.self) { try detector.evaluate(Self.test.0, labels: Self.test.1) }
        #expect(evaluated == .notFitted)
    }

    @Test func copyWithAnotherModelOrCodeLengthThrows() throws {
        let detector = try MOCCADetector(configuration: Self.configuration())
        var otherModel = MOCCAConfiguration(recipe: .paper)
        otherModel.network = NetworkSpecification(name: "cifar10-lenet", configuration: .object(["codeLength": .number(32)]))
        Self.expectInvalidConfiguration("cifar model") { _ = try detector.copy(configuration: otherModel) }
        var otherCode = Self.configuration()
        otherCode.network = mnistNetwork(codeLength: 64)
        Self.expectInvalidConfiguration("code length 64") { _ = try detector.copy(configuration: otherCode) }
    }

    @Test func copyStartsFromTheSameNetworkWeights() throws {
        let detector = try MOCCADetector(configuration: Self.configuration(seed: 1))
        try detector.pretrain(normal: Self.train)
        var soft = Self.configuration(seed: 99)
        soft.boundary = .soft
        let copy = try detector.copy(configuration: soft)
        let original = detector.network.stateDictionary(), copied = copy.network.stateDictionary()
        #expect(Set(original.keys) == Set(copied.keys))
        for (key, tensor) in original { #expect(copied[key]?.scalars == tensor.scalars, "\(key)") }
        #expect(copy.configuration.boundary == .soft)
        #expect(!copy.isFitted)
    }

    // MARK: Evaluation

    @Test func evaluationReportsEveryChannelWithMetricsInTheUnitInterval() throws {
        let detector = try Self.fitted(Self.configuration())
        let (images, labels) = Self.test
        let report = try detector.evaluate(images, labels: labels)
        #expect(report.channels == detector.channels)
        #expect(report.perChannel.count == detector.channels.count)
        #expect(report.normalCount == 10)
        #expect(report.anomalyCount == 10)
        #expect(report.threshold == detector.threshold)
        let all = [report.overall, report.meanFusion, report.standardizedFusion] + report.perChannel
        for metrics in all {
            for value in [metrics.auroc, metrics.aupr, metrics.maxBalancedAccuracy, metrics.maxF1] {
                #expect(value >= 0 && value <= 1, "\(metrics)")
            }
        }
        #expect(report.accuracyAtThreshold >= 0 && report.accuracyAtThreshold <= 1)
        // The overall metrics are those of the detector's own scores.
        let scores = try detector.score(images)
        #expect(report.overall == (try DetectionMetrics(scores: scores.overall, labels: labels)))
        let correct = zip(scores.overall, labels).filter { ($0 > detector.threshold) == ($1 == 1) }.count
        #expect(report.accuracyAtThreshold == Double(correct) / 20)
    }

    @Test func evaluationWithMismatchedLabelsIsAnInvalidEvaluation() throws {
        let detector = try Self.fitted(Self.configuration(epochs: 0))
        let error = #expect(throws: MOCCAError.self) { try detector.evaluate(Self.test.0, labels: [0, 1]) }
        guard case .invalidEvaluation? = error else { Issue.record("got \(String(describing: error))"); return }
    }
}
