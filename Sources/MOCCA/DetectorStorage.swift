import Foundation
import MOCCACore
import MOCCAData
import MOCCANN

/// The version of swift-mocca, recorded in every detector it writes.
public enum MOCCAVersion {
    /// This build's version string.
    public static let current = "0.2.0"
}

/// The JSON manifest of a saved detector; the weights live beside it in safetensors.
struct DetectorManifest: Codable {
    static let formatName = "swift-mocca-detector"
    /// 2: the network is a registered name with its own configuration. Version 1 (a LeNet
    /// `model` and `codeLength`) is still read.
    static let formatVersion = 2
    static let readableVersions = 1...2

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
    /// The files a detector folder holds; nothing else in the folder is the tool's.
    public static let manifestName = "manifest.json"
    /// The weights file, beside the manifest.
    public static let weightsName = "weights.safetensors"
    static let trainingScoresKey = "mocca.training_scores"

    /// The weights-file key of a scorer's tensor for one tap (`mocca.references.conv1`, ...).
    static func scorerKey(_ name: String, tap: String) -> String { "mocca.\(name).\(tap)" }
    /// The weights-file key of a local-map tensor (`mocca.local.references`, ...).
    static func localMapKey(_ name: String) -> String { "mocca.local.\(name)" }

    /// Saves the detector as a folder holding `manifest.json` (every hyperparameter, the
    /// network, the taps, centroids, radii, preprocessing constants, threshold, format and
    /// tool versions) and `weights.safetensors`.
    ///
    /// The files are written beside the destination and swapped in at the end, so an
    /// existing detector is replaced only by a complete one; other files in an existing
    /// folder (notes, say) are kept. Leftovers of a save that was killed are cleaned up
    /// first, and returned so that the caller can say so.
    @discardableResult
    public func save(to directory: URL) throws -> [String] {
        guard isFitted else { throw MOCCAError.notFitted }
        let manifest = DetectorManifest(
            configuration: configuration, preprocessor: preprocessor, trainingData: trainingData, taps: configuration.taps,
            centroids: taps.map(\.centroid.scalars), radii: taps.map(\.radius), channels: channels,
            channelStatistics: fusion.statistics, threshold: threshold, thresholdRule: thresholdRule,
            training: summary, hasAutoencoder: autoencoder != nil)
        var tensors: [String: Tensor] = [:]
        for (key, tensor) in network.stateDictionary() { tensors["network.\(key)"] = tensor }
        for (key, tensor) in autoencoder?.stateDictionary() ?? [:] { tensors["autoencoder.\(key)"] = tensor }
        for tap in taps {
            for (name, tensor) in tap.scorer?.tensors ?? [:] { tensors[Self.scorerKey(name, tap: tap.name)] = tensor }
        }
        for (name, tensor) in localMemory?.scorer.tensors ?? [:] { tensors[Self.localMapKey(name)] = tensor }
        tensors[Self.trainingScoresKey] = try Tensor(shape: [trainingScores.count], scalars: trainingScores)
        let manifestData: Data
        do { manifestData = try Self.encoder.encode(manifest) } catch {
            throw MOCCAError.invalidDetector(path: directory.path, reason: "its manifest could not be encoded: \(error)")
        }
        return try DetectorFolder(directory).write { staging in
            try SafeTensors.write(.init(tensors: tensors, metadata: ["format": DetectorManifest.formatName]),
                                  to: staging.appendingPathComponent(Self.weightsName))
            try AtomicFile.write(manifestData, to: staging.appendingPathComponent(Self.manifestName))
        }
    }

    /// Loads a detector saved by ``save(to:)``.
    /// - Throws: ``MOCCAError/invalidDetector(path:reason:)`` when the folder is missing,
    ///   is not a detector, is of another format version, its manifest or weights are
    ///   damaged, or it holds non-finite numbers.
    public static func load(from directory: URL) throws -> MOCCADetector {
        let path = directory.path
        func fail(_ reason: String) -> MOCCAError { MOCCAError.invalidDetector(path: path, reason: reason) }
        let manifest = try readManifest(directory)
        let configuration = manifest.configuration
        let weights: SafeTensors.Contents
        do { weights = try SafeTensors.read(from: directory.appendingPathComponent(weightsName)) } catch { throw fail("\(error)") }
        if let (key, _) = weights.tensors.first(where: { !$0.value.isFinite }) {
            throw fail("\(weightsName): the tensor '\(key)' holds NaN or infinite values")
        }
        let detector: MOCCADetector
        do { detector = try MOCCADetector(configuration: configuration) } catch { throw fail("\(manifestName): \(error)") }
        // Trained in bf16 or not, it scores in float32 unless told: this host may lack bf16.
        detector.scoringPrecision = .fp32
        do {
            try detector.network.load(weights.tensors.prefixed("network."))
            if manifest.hasAutoencoder {
                let autoencoder = try detector.snapshot(of: detector.network)
                try autoencoder.load(weights.tensors.prefixed("autoencoder."))
                detector.autoencoder = autoencoder
            }
            detector.trainingScores = weights.tensors[trainingScoresKey]?.scalars ?? []
        } catch {
            throw fail("weights do not fit the network: \(error)")
        }
        let widths: [Int]
        do { widths = try detector.tapWidths() } catch { throw fail("the network does not run: \(error)") }
        for (l, width) in widths.enumerated() where manifest.centroids[l].count != width {
            throw fail("\(manifestName): the centroid of tap \(configuration.taps[l]) has \(manifest.centroids[l].count) coordinates; the network's tap has \(width)")
        }
        let scorer = configuration.tapScore.scorerType
        detector.taps = try zip(configuration.taps, zip(manifest.centroids, manifest.radii)).map { name, geometry in
            var tap = TapState(name: name, centroid: try Tensor(shape: [geometry.0.count], scalars: geometry.0))
            tap.radius = geometry.1
            var own: [String: Tensor] = [:]
            for tensor in scorer.tensorNames { own[tensor] = weights.tensors[scorerKey(tensor, tap: name)] }
            do { tap.scorer = try scorer.init(loading: own, tap: tap, configuration: configuration) } catch { throw fail("\(weightsName): \(error)") }
            return tap
        }
        if let options = configuration.localMaps {
            var own: [String: Tensor] = [:]
            for name in LocalFeatureMemory.tensorNames { own[name] = weights.tensors[localMapKey(name)] }
            do {
                detector.localMemory = try LocalFeatureMemory(loading: own, options: options, configuration: configuration)
            } catch { throw fail("\(weightsName): local maps (\(localMapKey("references")), ...): \(error)") }
        }
        detector.preprocessor = manifest.preprocessor
        detector.trainingData = manifest.trainingData
        detector.fusion.statistics = manifest.channelStatistics
        detector.threshold = manifest.threshold
        detector.thresholdRule = manifest.thresholdRule
        detector.summary = manifest.training
        detector.network.eval()
        return detector
    }

    /// Checks the bytes of a detector's `manifest.json` as ``load(from:)`` does before it
    /// reads the weights: its format and version, that it decodes, and that its taps,
    /// centroids, radii, channels and statistics agree with each other and with its
    /// configuration and are finite. Returns the configuration, whose own options
    /// ``MOCCAConfiguration/validate()`` checks.
    /// - Parameter path: the detector folder, naming it in errors; nothing is read from it.
    /// - Throws: ``MOCCAError/invalidDetector(path:reason:)`` saying what is wrong.
    public static func checkManifest(_ data: Data, path: String) throws -> MOCCAConfiguration {
        try decodeManifest(data, path: path).configuration
    }

    /// The manifest of a detector folder, checked by ``decodeManifest(_:path:)``.
    private static func readManifest(_ directory: URL) throws -> DetectorManifest {
        let path = directory.path
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(manifestName).path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "it holds no readable \(manifestName)" : "no such folder"
            throw MOCCAError.invalidDetector(path: path, reason: reason)
        }
        return try decodeManifest(data, path: path)
    }

    /// A manifest's bytes decoded and checked for its format, version and consistency.
    static func decodeManifest(_ data: Data, path: String) throws -> DetectorManifest {
        func fail(_ reason: String) -> MOCCAError { MOCCAError.invalidDetector(path: path, reason: reason) }
        struct Header: Decodable { var format: String?; var formatVersion: Int? }
        let header: Header
        do { header = try decoder.decode(Header.self, from: data) } catch {
            throw fail("\(manifestName) is not valid JSON: \(describe(error))")
        }
        guard header.format == DetectorManifest.formatName else {
            throw fail("\(manifestName) is not a swift-mocca detector manifest")
        }
        guard let version = header.formatVersion, DetectorManifest.readableVersions.contains(version) else {
            throw fail("format version \(header.formatVersion.map(String.init) ?? "missing"); this tool reads versions \(DetectorManifest.readableVersions.lowerBound) to \(DetectorManifest.readableVersions.upperBound)")
        }
        let manifest: DetectorManifest
        do { manifest = try decoder.decode(DetectorManifest.self, from: data) } catch {
            throw fail("\(manifestName) is incomplete or damaged: \(describe(error))")
        }
        let configuration = manifest.configuration
        let expectedChannels = configuration.taps + (configuration.reconstructionChannel ? ["reconstruction"] : [])
        guard manifest.centroids.count == manifest.taps.count, manifest.radii.count == manifest.taps.count,
              manifest.channelStatistics.count == manifest.channels.count else {
            throw fail("\(manifestName) lists \(manifest.taps.count) taps but not as many centroids, radii or statistics")
        }
        guard manifest.taps == configuration.taps, manifest.channels == expectedChannels,
              manifest.hasAutoencoder == configuration.reconstructionChannel else {
            throw fail("\(manifestName) lists taps, channels or an autoencoder that disagree with its configuration")
        }
        guard manifest.centroids.allSatisfy({ $0.allSatisfy(\.isFinite) }), manifest.radii.allSatisfy(\.isFinite) else {
            throw fail("\(manifestName) holds non-finite centroids or radii")
        }
        guard manifest.threshold.isFinite else { throw fail("\(manifestName): the threshold is \(manifest.threshold), not a finite number") }
        guard manifest.channelStatistics.allSatisfy({ $0.mean.isFinite && $0.standardDeviation.isFinite }) else {
            throw fail("\(manifestName) holds non-finite channel statistics")
        }
        if let preprocessor = manifest.preprocessor, !(preprocessor.maximum > preprocessor.minimum) {
            throw fail("\(manifestName): the preprocessing maximum must exceed the minimum")
        }
        return manifest
    }

    /// A decoding error with the place it happened: the JSON path, or the byte offset
    /// JSONSerialization reports.
    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context), DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return describe(context)
        case DecodingError.keyNotFound(let key, let context):
            return "the key '\(key.stringValue)' is missing at \(path(context))"
        default:
            return "\(error)"
        }
    }

    private static func describe(_ context: DecodingError.Context) -> String {
        let underlying = (context.underlyingError as NSError?).map { " (\($0.userInfo["NSDebugDescription"] ?? $0.localizedDescription))" } ?? ""
        return "\(context.debugDescription) at \(path(context))\(underlying)"
    }

    private static func path(_ context: DecodingError.Context) -> String {
        context.codingPath.isEmpty ? "the top level" : context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
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
