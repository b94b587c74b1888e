import Foundation
import MOCCACore
import MOCCAData
import MOCCANN

/// The version of swift-mocca, recorded in every detector it writes.
public enum MOCCAVersion {
    /// This build's version string.
    public static let current = "0.1.0"
}

/// The JSON manifest of a saved detector; the weights live beside it in safetensors.
struct DetectorManifest: Codable {
    static let formatName = "swift-mocca-detector"
    static let formatVersion = 1

    var format = DetectorManifest.formatName
    var formatVersion = DetectorManifest.formatVersion
    var toolVersion = MOCCAVersion.current
    var configuration: MOCCAConfiguration
    var preprocessor: Preprocessor?
    var trainingData: TrainingDataDescription?
    var taps: [String]
    var centroids: [[Float]]
    var radii: [Float]
    var channels: [String]
    var channelStatistics: [ChannelStatistics]
    var threshold: Float
    var thresholdRule: ThresholdRule
    var training: TrainingSummary?
    var hasAutoencoder: Bool
}

extension MOCCADetector {
    static let manifestName = "manifest.json"
    static let weightsName = "weights.safetensors"
    static let trainingScoresKey = "mocca.training_scores"
    static let referencesPrefix = "mocca.references."
    static let referenceMeansPrefix = "mocca.reference_means."
    static let referenceScalesPrefix = "mocca.reference_scales."

    /// Saves the detector as a folder holding `manifest.json` (every hyperparameter, the
    /// taps, centroids, radii, preprocessing constants, threshold, format and tool
    /// versions) and `weights.safetensors`.
    ///
    /// The folder is written beside its destination and swapped in at the end, so an
    /// existing detector is replaced only by a complete one.
    public func save(to directory: URL) throws {
        guard isFitted else { throw MOCCAError.notFitted }
        let manifest = DetectorManifest(
            configuration: configuration, preprocessor: preprocessor, trainingData: trainingData, taps: configuration.taps,
            centroids: centroids.map(\.scalars), radii: radii, channels: channels,
            channelStatistics: channelStatistics, threshold: threshold, thresholdRule: thresholdRule,
            training: summary, hasAutoencoder: autoencoder != nil)
        var tensors: [String: Tensor] = [:]
        for (key, tensor) in network.stateDictionary() { tensors["network.\(key)"] = tensor }
        for (key, tensor) in autoencoder?.stateDictionary() ?? [:] { tensors["autoencoder.\(key)"] = tensor }
        for (l, tap) in configuration.taps.enumerated() where l < references.count {
            tensors[Self.referencesPrefix + tap] = references[l]
            tensors[Self.referenceMeansPrefix + tap] = referenceMeans[l]
            tensors[Self.referenceScalesPrefix + tap] = referenceScales[l]
        }
        tensors[Self.trainingScoresKey] = try Tensor(shape: [trainingScores.count], scalars: trainingScores)

        let fileManager = FileManager.default
        let parent = directory.deletingLastPathComponent()
        let staging = parent.appendingPathComponent(".\(directory.lastPathComponent).partial-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try? fileManager.removeItem(at: staging)
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
            try SafeTensors.write(.init(tensors: tensors, metadata: ["format": DetectorManifest.formatName]),
                                  to: staging.appendingPathComponent(Self.weightsName))
            try AtomicFile.write(Self.encoder.encode(manifest), to: staging.appendingPathComponent(Self.manifestName))
            if fileManager.fileExists(atPath: directory.path) {
                // Swap by renames; the old detector is removed only once the new one is in place.
                let previous = parent.appendingPathComponent(".\(directory.lastPathComponent).previous-\(ProcessInfo.processInfo.processIdentifier)")
                try? fileManager.removeItem(at: previous)
                try fileManager.moveItem(at: directory, to: previous)
                do { try fileManager.moveItem(at: staging, to: directory) } catch {
                    try? fileManager.moveItem(at: previous, to: directory)
                    throw error
                }
                try? fileManager.removeItem(at: previous)
            } else {
                try fileManager.moveItem(at: staging, to: directory)
            }
        } catch {
            try? fileManager.removeItem(at: staging)
            throw MOCCAError.invalidDetector(path: directory.path, reason: "could not be written: \(error)")
        }
    }

    /// Loads a detector saved by ``save(to:)``.
    /// - Throws: ``MOCCAError/invalidDetector(path:reason:)`` when the folder is missing,
    ///   is not a detector, is of another format version, or its weights are truncated.
    public static func load(from directory: URL) throws -> MOCCADetector {
        let path = directory.path
        let manifestURL = directory.appendingPathComponent(manifestName)
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else {
            let reason = FileManager.default.fileExists(atPath: path)
                ? "it holds no readable \(manifestName)" : "no such folder"
            throw MOCCAError.invalidDetector(path: path, reason: reason)
        }
        struct Header: Decodable { var format: String?; var formatVersion: Int? }
        guard let header = try? decoder.decode(Header.self, from: data), header.format == DetectorManifest.formatName else {
            throw MOCCAError.invalidDetector(path: path, reason: "\(manifestName) is not a swift-mocca detector manifest")
        }
        guard header.formatVersion == DetectorManifest.formatVersion else {
            throw MOCCAError.invalidDetector(path: path, reason: "format version \(header.formatVersion.map(String.init) ?? "missing"); this tool reads version \(DetectorManifest.formatVersion)")
        }
        let manifest: DetectorManifest
        do { manifest = try decoder.decode(DetectorManifest.self, from: data) } catch {
            throw MOCCAError.invalidDetector(path: path, reason: "\(manifestName) is incomplete or damaged: \(error)")
        }
        guard manifest.centroids.count == manifest.taps.count, manifest.radii.count == manifest.taps.count,
              manifest.channelStatistics.count == manifest.channels.count else {
            throw MOCCAError.invalidDetector(path: path, reason: "\(manifestName) lists \(manifest.taps.count) taps but not as many centroids, radii or statistics")
        }
        let configuration = manifest.configuration
        let expectedChannels = configuration.taps + (configuration.reconstructionChannel ? ["reconstruction"] : [])
        guard manifest.taps == configuration.taps, manifest.channels == expectedChannels,
              manifest.hasAutoencoder == configuration.reconstructionChannel else {
            throw MOCCAError.invalidDetector(path: path, reason: "\(manifestName) lists taps, channels or an autoencoder that disagree with its configuration")
        }
        guard manifest.centroids.allSatisfy({ $0.allSatisfy(\.isFinite) }), manifest.radii.allSatisfy(\.isFinite) else {
            throw MOCCAError.invalidDetector(path: path, reason: "\(manifestName) holds non-finite centroids or radii")
        }
        if let preprocessor = manifest.preprocessor, !(preprocessor.maximum > preprocessor.minimum) {
            throw MOCCAError.invalidDetector(path: path, reason: "\(manifestName): the preprocessing maximum must exceed the minimum")
        }
        let weights: SafeTensors.Contents
        do { weights = try SafeTensors.read(from: directory.appendingPathComponent(weightsName)) } catch {
            throw MOCCAError.invalidDetector(path: path, reason: "\(error)")
        }
        let detector = try MOCCADetector(configuration: manifest.configuration)
        do {
            try detector.network.load(weights.tensors.prefixed("network."))
            if manifest.hasAutoencoder {
                var generator = RandomGenerator(seed: manifest.configuration.seed)
                let autoencoder = try makeNetwork(manifest.configuration, generator: &generator)
                try autoencoder.load(weights.tensors.prefixed("autoencoder."))
                detector.autoencoder = autoencoder
            }
            detector.centroids = try manifest.centroids.map { try Tensor(shape: [$0.count], scalars: $0) }
            detector.trainingScores = weights.tensors[trainingScoresKey]?.scalars ?? []
        } catch {
            throw MOCCAError.invalidDetector(path: path, reason: "weights do not fit the model: \(error)")
        }
        if configuration.tapScore == .nearestNeighbor {
            for (l, tap) in configuration.taps.enumerated() {
                guard let reference = weights.tensors[referencesPrefix + tap], let mean = weights.tensors[referenceMeansPrefix + tap],
                      let scale = weights.tensors[referenceScalesPrefix + tap],
                      reference.rank == 2, reference.shape[0] > configuration.neighbors, reference.shape[1] == manifest.centroids[l].count,
                      mean.shape == [reference.shape[1]], scale.shape == [reference.shape[1]] else {
                    throw MOCCAError.invalidDetector(path: path, reason: "the weights lack tap \(tap)'s nearest-neighbour references, or their shapes do not fit")
                }
                detector.references.append(reference)
                detector.referenceMeans.append(mean)
                detector.referenceScales.append(scale)
            }
        }
        detector.preprocessor = manifest.preprocessor
        detector.trainingData = manifest.trainingData
        detector.radii = manifest.radii
        detector.channelStatistics = manifest.channelStatistics
        detector.threshold = manifest.threshold
        detector.thresholdRule = manifest.thresholdRule
        detector.summary = manifest.training
        detector.network.eval()
        return detector
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}

extension Dictionary where Key == String, Value == Tensor {
    /// The entries whose key starts with `prefix`, with the prefix removed.
    func prefixed(_ prefix: String) -> [String: Tensor] {
        Dictionary(uniqueKeysWithValues: compactMap { key, value in
            key.hasPrefix(prefix) ? (String(key.dropFirst(prefix.count)), value) : nil
        })
    }
}
