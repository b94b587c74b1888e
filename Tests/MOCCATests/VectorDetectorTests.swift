import Foundation
import MOCCA
import MOCCACore
import Testing

/// A third network with no detector change: the registered MLP takes table rows through
/// fit, score, evaluate, save and load like the image networks.
@Suite("Detector on vectors (MLP)", .serialized)
struct VectorDetectorTests {
    static let features = 12

    /// Normal rows lie near a 3-dimensional subspace; anomalies leave it.
    static func rows(count: Int, anomalous: Bool, seed: UInt64) throws -> Tensor {
        var generator = RandomGenerator(seed: seed)
        var basis = RandomGenerator(seed: 1000)
        let directions = (0..<3).map { _ in (0..<features).map { _ in basis.nextNormal() } }
        var values: [Float] = []
        for _ in 0..<count {
            let weights = (0..<3).map { _ in generator.nextNormal() }
            for j in 0..<features {
                let inSubspace = zip(weights, directions).reduce(Float(0)) { $0 + $1.0 * $1.1[j] }
                values.append(inSubspace + 0.05 * generator.nextNormal() + (anomalous ? 2.5 * generator.nextNormal() : 0))
            }
        }
        return try Tensor(shape: [count, features], scalars: values)
    }

    static func configuration(recipe: MOCCAConfiguration.Recipe) throws -> MOCCAConfiguration {
        var configuration = MOCCAConfiguration(recipe: recipe)
        var mlp = MLPAutoencoderConfiguration()
        mlp.inputFeatures = features
        mlp.hiddenSizes = [16]
        mlp.codeLength = 4
        configuration.network = try NetworkSpecification(mlp)
        configuration.taps = ["hidden1", "code"]
        configuration.autoencoderEpochs = 15
        configuration.oneClassEpochs = 5
        configuration.batchSize = 32
        return configuration
    }

    @Test(arguments: [MOCCAConfiguration.Recipe.default, .paper])
    func fitScoreEvaluateSaveAndLoadOnPlantedAnomalies(recipe: MOCCAConfiguration.Recipe) throws {
        let detector = try MOCCADetector(configuration: Self.configuration(recipe: recipe))
        try detector.fit(normal: Self.rows(count: 256, anomalous: false, seed: 1))
        let normal = try Self.rows(count: 50, anomalous: false, seed: 2), anomalies = try Self.rows(count: 50, anomalous: true, seed: 3)
        let test = try TensorSource(Tensor.concatenate([normal, anomalies], alongAxis: 0), labels: Array(repeating: 0, count: 50) + Array(repeating: 1, count: 50))
        let report = try detector.evaluate(test)
        // Measured: 0.911 (nearest neighbour) and 0.676 (the paper's centroid distance, which
        // a short schedule on 256 rows leaves weak); both must rank far above chance.
        #expect(report.overall.auroc > (recipe == .default ? 0.85 : 0.6), "\(recipe): AUROC \(report.overall.auroc)")
        #expect(report.channels == ["hidden1", "code"])

        let directory = try makeTemporaryDirectory("mlp-detector")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("rows.mocca")
        try detector.save(to: url)
        let loaded = try MOCCADetector.load(from: url)
        #expect(loaded.configuration == detector.configuration)
        let before = try detector.score(test), after = try loaded.score(test)
        #expect(after.overall == before.overall)
        #expect(after.perChannel == before.perChannel)
    }
}
