import Foundation
@testable import MOCCA
import MOCCACore
import MOCCANN
import Testing

/// Bad detectors, bad thresholds, runaway training and interrupted saves: each is an error
/// that names what is wrong, and nothing the user had is lost.
@Suite("Detector hardening", .serialized)
struct DetectorHardeningTests {
    /// The error `body` throws, as a MOCCAError with its description.
    static func error(_ body: () throws -> Void) -> (MOCCAError, String)? {
        do { try body() } catch let error as MOCCAError { return (error, error.description) } catch { Issue.record("got \(error)") }
        return nil
    }

    static func editManifest(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let manifestURL = url.appendingPathComponent("manifest.json")
        var manifest = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        edit(&manifest)
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
    }

    @Test func aCentroidOfTheWrongLengthNamesTheTapAndTheDetector() throws {
        let (directory, url) = try DetectorTests.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.editManifest(url) { manifest in
            var centroids = manifest["centroids"] as? [[Double]] ?? []
            centroids[1] += [0.5]
            manifest["centroids"] = centroids
        }
        let (error, message) = try #require(Self.error { _ = try MOCCADetector.load(from: url) })
        guard case .invalidDetector(let path, _) = error else { Issue.record("got \(error)"); return }
        #expect(path == url.path)
        #expect(message.contains("conv2") && message.contains("5 coordinates") && message.contains("has 4"), "\(message)")
    }

    @Test func nonFiniteWeightsNameTheTensor() throws {
        let (directory, url) = try DetectorTests.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        let weightsURL = url.appendingPathComponent("weights.safetensors")
        var contents = try SafeTensors.read(from: weightsURL)
        let weight = try #require(contents.tensors["network.conv1.weight"])
        weight.unsafeScalarPointer[3] = .nan
        contents.tensors["network.conv1.weight"] = weight
        try SafeTensors.write(contents, to: weightsURL)
        let (error, message) = try #require(Self.error { _ = try MOCCADetector.load(from: url) })
        guard case .invalidDetector(let path, _) = error else { Issue.record("got \(error)"); return }
        #expect(path == url.path)
        #expect(message.contains("network.conv1.weight"), "\(message)")
    }

    @Test(arguments: ["nan", "inf"])
    func aNonFiniteThresholdInTheManifestIsAnInvalidDetector(value: String) throws {
        let (directory, url) = try DetectorTests.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.editManifest(url) { $0["threshold"] = value }
        let (_, message) = try #require(Self.error { _ = try MOCCADetector.load(from: url) })
        #expect(message.contains(url.path) && message.contains("threshold"), "\(message)")
    }

    @Test(arguments: [Float.nan, .infinity, -.infinity])
    func aNonFiniteFixedThresholdIsRejectedAndLeavesTheThreshold(value: Float) throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration(epochs: 0))
        let before = detector.threshold
        let (error, _) = try #require(Self.error { try detector.calibrate(.value(value)) })
        guard case .invalidConfiguration = error else { Issue.record("got \(error)"); return }
        #expect(detector.threshold == before)
    }

    @Test func aNonFiniteScoreNamesTheSampleAndTheChannel() throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration(epochs: 0))
        let weight = try #require(detector.network.stateDictionary()["fc1.weight"])
        weight.unsafeScalarPointer[0] = .infinity
        weight.unsafeScalarPointer[1] = -.infinity
        let (error, _) = try #require(Self.error { _ = try detector.score(DetectorTests.test.0) })
        guard case .nonFiniteScore(let sample, let channel) = error else { Issue.record("got \(error)"); return }
        #expect(sample == "sample 0" && channel == "code")
    }

    @Test func aRunawayAutoencoderPhaseStopsWithTheEpochUnlessAllowed() throws {
        var configuration = DetectorTests.configuration(epochs: 4)
        configuration.autoencoderLearningRate = 1e6
        let detector = try MOCCADetector(configuration: configuration)
        let (error, message) = try #require(Self.error { try detector.pretrain(normal: DetectorTests.train) })
        guard case .diverged(let phase, let epoch, let reason) = error else { Issue.record("got \(error)"); return }
        #expect(phase == "autoencoder" && epoch == 1)
        #expect(reason.contains("norm of its weights"), "\(reason)")
        #expect(message.contains("--allow-divergence"))

        let allowed = try MOCCADetector(configuration: configuration)
        allowed.stopsOnDivergence = false
        #expect(throws: Never.self) { try allowed.pretrain(normal: DetectorTests.train) }
    }

    @Test func divergenceIsALossFarAboveItsStartOrWeightsFarBeyondTheirStart() {
        #expect(MOCCADetector.divergence(loss: 5e17, firstLoss: 20, norm: 10, startNorm: 10)?.contains("mean loss") == true)
        #expect(MOCCADetector.divergence(loss: 1, firstLoss: 20, norm: 2e6, startNorm: 10)?.contains("norm") == true)
        #expect(MOCCADetector.divergence(loss: 1, firstLoss: 20, norm: .nan, startNorm: 10) != nil)
        // Healthy phases: the loss falls or rises a little, the weights change by a small factor.
        #expect(MOCCADetector.divergence(loss: 25, firstLoss: 20, norm: 30, startNorm: 10) == nil)
        #expect(MOCCADetector.divergence(loss: 0.5, firstLoss: nil, norm: 10, startNorm: 0) == nil)
    }

    @Test func savingOverADetectorKeepsTheUsersOtherFiles() throws {
        let (directory, url) = try DetectorTests.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        let notes = url.appendingPathComponent("notes.txt")
        try Data("keep me".utf8).write(to: notes)
        let detector = try DetectorTests.fitted(DetectorTests.configuration(seed: 9, epochs: 0))
        try detector.save(to: url)
        #expect(try String(contentsOf: notes, encoding: .utf8) == "keep me")
        #expect(try MOCCADetector.load(from: url).threshold == detector.threshold)
        let hidden = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix(".") }
        #expect(hidden.isEmpty, "\(hidden)")
    }

    @Test func leftoversOfAKilledSaveAreCleanedUpAndReported() throws {
        let (directory, url) = try DetectorTests.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        // A process that no longer runs left a staging folder, and a previous detector
        // holding a user's file that the swap had not carried over yet.
        let dead = Int32.max - 7
        let partial = directory.appendingPathComponent(".saved.mocca.partial-\(dead)")
        let previous = directory.appendingPathComponent(".saved.mocca.previous-\(dead)")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: previous, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: previous.appendingPathComponent("notes.txt"))
        let notes = try DetectorTests.fitted(DetectorTests.configuration(epochs: 0)).save(to: url)
        #expect(notes.count == 2, "\(notes)")
        #expect(notes.allSatisfy { $0.contains("\(dead)") })
        #expect(!FileManager.default.fileExists(atPath: partial.path))
        #expect(!FileManager.default.fileExists(atPath: previous.path))
        #expect(try String(contentsOf: url.appendingPathComponent("notes.txt"), encoding: .utf8) == "mine")
    }

    @Test func aPreviousDetectorIsRestoredWhenTheSwapWasCutShort() throws {
        let (directory, url) = try DetectorTests.savedDetector()
        defer { try? FileManager.default.removeItem(at: directory) }
        // Killed between moving the old detector aside and moving the new one in: only
        // the hidden previous folder is left, with the user's file in it.
        let dead = Int32.max - 8
        let previous = directory.appendingPathComponent(".saved.mocca.previous-\(dead)")
        try Data("mine".utf8).write(to: url.appendingPathComponent("notes.txt"))
        try FileManager.default.moveItem(at: url, to: previous)
        let elsewhere = try DetectorTests.fitted(DetectorTests.configuration(epochs: 0)).save(to: directory.appendingPathComponent("other.mocca"))
        #expect(elsewhere.isEmpty, "leftovers of another destination are not touched: \(elsewhere)")
        let notes = try DetectorTests.fitted(DetectorTests.configuration(seed: 4, epochs: 0)).save(to: url)
        #expect(notes.count == 1 && notes[0].contains("restored"), "\(notes)")
        #expect(try String(contentsOf: url.appendingPathComponent("notes.txt"), encoding: .utf8) == "mine")
        #expect(!FileManager.default.fileExists(atPath: previous.path))
    }

    @Test func channelsThatDidNotVaryInTrainingAreListed() throws {
        let statistics = ScoreFusion(rule: .standardized, channels: ["a", "b", "c"], tapCount: 3,
                                 statistics: [ChannelStatistics(scores: [1, 2, 3]), ChannelStatistics(scores: [4, 4, 4]),
                                              ChannelStatistics(scores: [.nan, 1, 2])])
        #expect(statistics.constantChannels == ["b", "c"])
        // The constant channels contribute zero; channel a is standardised by mean 2, deviation √(2/3).
        let fused = statistics.fuse([[1, 3], [4, 9], [0, 0]])
        #expect(isNear(fused, [-1.2247449 / 3, 1.2247449 / 3], 1e-6), "\(fused)")
    }
}
