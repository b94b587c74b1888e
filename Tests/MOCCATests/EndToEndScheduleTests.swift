import Foundation
import MOCCA
import MOCCACore
import MOCCAModels
import Testing

/// The end-to-end schedule (the paper's video training): the one-class phase also
/// minimises the reconstruction loss and trains the decoder.
@Suite("End-to-end schedule")
struct EndToEndScheduleTests {
    static func configuration(endToEnd: Bool) throws -> MOCCAConfiguration {
        var configuration = MOCCAConfiguration(recipe: .paper)
        var mlp = MLPAutoencoderConfiguration()
        mlp.inputFeatures = 6
        mlp.hiddenSizes = [8]
        mlp.codeLength = 3
        configuration.network = try NetworkSpecification(mlp)
        configuration.taps = ["hidden1", "code"]
        configuration.autoencoderEpochs = 2
        configuration.oneClassEpochs = 2
        configuration.batchSize = 16
        configuration.reconstructionChannel = true
        configuration.fusion = .standardized
        configuration.trainsEndToEnd = endToEnd
        return configuration
    }

    static func decoderWeights(_ detector: MOCCADetector) -> [String: [Float]] {
        detector.network.stateDictionary().filter { $0.key.hasPrefix("decoderLayers") }.mapValues(\.scalars)
    }

    @Test func onlyTheEndToEndScheduleTrainsTheDecoderInPhaseTwo() throws {
        var generator = RandomGenerator(seed: 4)
        let rows = Tensor.normal(shape: [64, 6], using: &generator)
        for endToEnd in [false, true] {
            let detector = try MOCCADetector(configuration: Self.configuration(endToEnd: endToEnd))
            try detector.pretrain(normal: rows)
            let before = Self.decoderWeights(detector)
            #expect(!before.isEmpty)
            try detector.fitOneClass(normal: rows)
            let after = Self.decoderWeights(detector)
            #expect((after != before) == endToEnd, "end to end: \(endToEnd)")
            // The reconstruction channel scores with the decoder as it ended.
            let scores = try detector.score(rows)
            #expect(scores.channel("reconstruction").map { $0.allSatisfy(\.isFinite) } == true)
        }
    }

    @Test func theOptionIsStoredAndIsNotAPhaseOneOption() throws {
        let twoPhase = try Self.configuration(endToEnd: false), endToEnd = try Self.configuration(endToEnd: true)
        let decoded = try JSONDecoder().decode(MOCCAConfiguration.self, from: JSONEncoder().encode(endToEnd))
        #expect(decoded.trainsEndToEnd && decoded == endToEnd)
        // Both schedules pretrain the same autoencoder.
        #expect(twoPhase.phaseOneConfiguration == endToEnd.phaseOneConfiguration)
    }
}
