import Foundation
import MOCCA

/// The name under which a pretrained autoencoder is stored and found again: a hash of
/// everything that shapes phase 1, so that a stored autoencoder is reused only for the
/// very same pretraining.
///
/// The rule: take the whole configuration, reset what only phase 2 reads
/// (``MOCCA/MOCCAConfiguration/phaseOneConfiguration``), and add what identifies the data
/// without its path: the data set's name, the normal class, the image shape, the number of
/// normal training images and the preprocessing. Encode that as JSON with sorted keys and
/// hash the bytes with 64-bit FNV-1a (Swift's `Hasher` is seeded per process, so it cannot
/// name a file). An option added to ``MOCCA/MOCCAConfiguration`` later is encoded, hence
/// part of the key, without anyone remembering to add it: at worst a needless
/// pretraining, never a wrong reuse. The tool version is not part of the key, so that
/// autoencoders survive upgrades; a change to phase 1 that alters its results should
/// bump ``identityVersion``.
public struct PretrainingKey: Hashable, Sendable, CustomStringConvertible {
    /// 16 lower-case hex digits.
    public let value: String
    /// The canonical JSON that was hashed, for inspection and tests.
    public let canonicalText: String

    /// Raised when the pretraining itself changes in a way no option shows, so that older
    /// autoencoders are no longer reused.
    public static let identityVersion = 1

    /// What the key hashes; its field names are part of the canonical text.
    private struct Identity: Encodable {
        var keyVersion = PretrainingKey.identityVersion
        var configuration: MOCCAConfiguration
        var dataset: String
        var normalClass: String
        var imageShape: [Int]
        var normalTrainingImages: Int
        var globalContrastNormalization: Bool
    }

    /// The key of pretraining with `configuration` on `split`'s normal training images.
    /// - Parameters:
    ///   - dataset: the data set's path-independent name (for example `cifar10`).
    ///   - globalContrastNormalization: the preprocessing's setting (``MOCCAData/OneClassSplit/prepared(globalContrastNormalization:)``).
    public init(configuration: MOCCAConfiguration, dataset: String, split: OneClassSplit, globalContrastNormalization: Bool = true) throws {
        try self.init(configuration: configuration, dataset: dataset, normalClass: split.normalClassName,
                      imageShape: split.train.imageShape, normalTrainingImages: split.train.count,
                      globalContrastNormalization: globalContrastNormalization)
    }

    /// The key of pretraining with `configuration` on the described normal training images.
    public init(configuration: MOCCAConfiguration, dataset: String, normalClass: String, imageShape: [Int],
                normalTrainingImages: Int, globalContrastNormalization: Bool = true) throws {
        let identity = Identity(configuration: configuration.phaseOneConfiguration, dataset: dataset, normalClass: normalClass,
                                imageShape: imageShape, normalTrainingImages: normalTrainingImages,
                                globalContrastNormalization: globalContrastNormalization)
        let bytes = try BenchmarkJSON.encoder().encode(identity)
        canonicalText = String(decoding: bytes, as: UTF8.self)
        let hash = Self.fnv1a64(bytes)
        let hex = String(hash, radix: 16)
        value = String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The key's hex digits.
    public var description: String { value }

    /// 64-bit FNV-1a: stable across processes, platforms and releases.
    public static func fnv1a64<Bytes: Sequence>(_ bytes: Bytes) -> UInt64 where Bytes.Element == UInt8 {
        bytes.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
