import Foundation
import MOCCA
import MOCCACore
import MOCCAData
import MOCCAModels
import MOCCANN
import Testing

/// Saving and loading detectors: the folder's files, the reloaded state and scores, and
/// every way a folder can fail to be a usable detector.
extension DetectorTests {
    // MARK: Saving and loading

    @Test(arguments: [false, true])
    func saveThenLoadGivesIdenticalScoresAndState(reconstruction: Bool) throws {
        let directory = try makeTemporaryDirectory("detector")
        defer { try? FileManager.default.removeItem(at: directory) }
        var configuration = Self.configuration(seed: 3)
        if reconstruction { configuration.fusion = .standardized }
        configuration.reconstructionChannel = reconstruction
        configuration.boundary = reconstruction ? .hard : .soft
        configuration.warmUpEpochs = 0
        let detector = try Self.fitted(configuration)
        detector.preprocessor = Preprocessor(globalContrastNormalization: true, minimum: -1.5, maximum: 2.25)
        detector.trainingData = TrainingDataDescription(dataset: "mnist", path: "/data", normalClass: "3",
                                                        classNames: (0...9).map(String.init), imageShape: [1, 28, 28])
        let url = directory.appendingPathComponent("model.mocca")
        try detector.save(to: url)
        #expect(FileManager.default.fileExists(atPath: url.appendingPathComponent("manifest.json").path))
        #expect(FileManager.default.fileExists(atPath: url.appendingPathComponent("weights.safetensors").path))

        let loaded = try MOCCADetector.load(from: url)
        #expect(loaded.configuration == detector.configuration)
        #expect(loaded.threshold == detector.threshold)
        #expect(loaded.thresholdRule == detector.thresholdRule)
        #expect(loaded.taps.map(\.radius) == detector.taps.map(\.radius))
        #expect(loaded.channels == detector.channels)
        #expect(loaded.fusion == detector.fusion)
        #expect(loaded.taps.map(\.centroid.scalars) == detector.taps.map(\.centroid.scalars))
        #expect(loaded.preprocessor == detector.preprocessor)
        #expect(loaded.trainingData == detector.trainingData)
        #expect(loaded.summary == detector.summary)
        #expect((loaded.autoencoder != nil) == reconstruction)

        let before = try detector.score(Self.test.0), after = try loaded.score(Self.test.0)
        #expect(after.overall == before.overall)
        #expect(after.perChannel == before.perChannel)
        #expect(after.channels == before.channels)
        #expect(try loaded.predict(Self.test.0) == detector.predict(Self.test.0))
    }

    @Test func savingOverAnExistingDetectorReplacesIt() throws {
        let directory = try makeTemporaryDirectory("detector-replace")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.mocca")
        let first = try Self.fitted(Self.configuration(seed: 1, epochs: 0))
        try first.save(to: url)
        var secondConfiguration = Self.configuration(seed: 2, epochs: 0)
        secondConfiguration.taps = ["conv2", "code"]
        let second = try Self.fitted(secondConfiguration)
        do {
            try second.save(to: url)
        } catch {
            Issue.record("saving over an existing detector failed: \(error)")
            // A failed save must at least leave the old detector intact and no staging folder.
            #expect(try MOCCADetector.load(from: url).configuration == first.configuration)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.mocca"])
            return
        }

        let loaded = try MOCCADetector.load(from: url)
        #expect(loaded.configuration == second.configuration)
        #expect(loaded.channels == ["conv2", "code"])
        #expect(try loaded.score(Self.test.0).overall == second.score(Self.test.0).overall)
        // Nothing is left beside it.
        let entries = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        #expect(entries == ["model.mocca"], "\(entries)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: url.path)) == ["manifest.json", "weights.safetensors"])
    }

    @Test func saveBeforeFitIsNotFitted() throws {
        let directory = try makeTemporaryDirectory("detector-unfitted")
        defer { try? FileManager.default.removeItem(at: directory) }
        let detector = try MOCCADetector(configuration: Self.configuration())
        let error = #expect(throws: MOCCAError.self) { try detector.save(to: directory.appendingPathComponent("x")) }
        #expect(error == .notFitted)
    }

    /// A saved detector (no training epochs, to be quick) in a fresh folder.
    static func savedDetector() throws -> (directory: URL, detector: URL) {
        let directory = try makeTemporaryDirectory("detector-load")
        let url = directory.appendingPathComponent("saved.mocca")
        try fitted(configuration(epochs: 0)).save(to: url)
        return (directory, url)
    }

    @Test func loadingAMissingFolderIsAnInvalidDetector() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-absent-\(UUID().uuidString)")
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
    }

    @Test func loadingAFolderWithoutManifestIsAnInvalidDetector() throws {
        let directory = try makeTemporaryDirectory("detector-empty")
        defer { try? FileManager.default.removeItem(at: directory) }
        Self.expectInvalidDetector(directory.path) { _ = try MOCCADetector.load(from: directory) }
    }

    @Test func loadingAnotherFormatVersionIsAnInvalidDetector() throws {
        let (directory, url) = try Self.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        let manifestURL = url.appendingPathComponent("manifest.json")
        var manifest = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        #expect(manifest["formatVersion"] as? Int == 2)
        manifest["formatVersion"] = 99
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
        do {
            _ = try MOCCADetector.load(from: url)
        } catch let error as MOCCAError {
            #expect(error.description.contains("99"), "\(error)")
        }
    }

    @Test func loadingJSONThatIsNotADetectorIsAnInvalidDetector() throws {
        let (directory, url) = try Self.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data(#"{"hello":1}"#.utf8).write(to: url.appendingPathComponent("manifest.json"))
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
        try Data("not json at all".utf8).write(to: url.appendingPathComponent("manifest.json"))
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
    }

    @Test func loadingAManifestWithMissingFieldsIsAnInvalidDetector() throws {
        let (directory, url) = try Self.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        let manifestURL = url.appendingPathComponent("manifest.json")
        var manifest = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        manifest["centroids"] = nil
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
    }

    @Test func loadingTruncatedWeightsIsAnInvalidDetector() throws {
        let (directory, url) = try Self.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        let weightsURL = url.appendingPathComponent("weights.safetensors")
        let data = try Data(contentsOf: weightsURL)
        try data.prefix(data.count / 2).write(to: weightsURL)
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
        // Missing altogether.
        try FileManager.default.removeItem(at: weightsURL)
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
    }

    @Test func loadingWeightsOfAnotherModelIsAnInvalidDetector() throws {
        let (directory, url) = try Self.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Claim a code length of 64 in the manifest: the saved fc1 weight no longer fits.
        let manifestURL = url.appendingPathComponent("manifest.json")
        var manifest = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        var configuration = try #require(manifest["configuration"] as? [String: Any])
        configuration["network"] = ["name": "mnist-lenet", "configuration": ["codeLength": 64]]
        manifest["configuration"] = configuration
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        Self.expectInvalidDetector(url.path) { _ = try MOCCADetector.load(from: url) }
    }
}
