import Foundation
import MOCCA
import MOCCABenchmark
import Testing

@Suite("Pretraining key")
struct PretrainingKeyTests {
    static func key(_ configuration: MOCCAConfiguration, dataset: String = "synthetic", normalClass: String = "blob",
                    imageShape: [Int] = [1, 28, 28], count: Int = 16, gcn: Bool = true) throws -> PretrainingKey {
        try PretrainingKey(configuration: configuration, dataset: dataset, normalClass: normalClass, imageShape: imageShape,
                           normalTrainingImages: count, globalContrastNormalization: gcn)
    }

    static let base = Fixtures.configuration()

    /// One change to each option that shapes phase 1.
    static let phaseOneChanges: [(String, (inout MOCCAConfiguration) -> Void)] = [
        ("network", { $0.network = NetworkSpecification(name: "cifar10-lenet", configuration: .object([:])) }),
        ("code length", { $0.network.configuration = $0.network.configuration.setting("codeLength", to: .number(32)) }),
        ("autoencoder epochs", { $0.autoencoderEpochs += 1 }),
        ("autoencoder learning rate", { $0.autoencoderLearningRate *= 2 }),
        ("autoencoder milestones", { $0.autoencoderMilestones = [1] }),
        ("weight decay", { $0.weightDecay = 1e-4 }),
        ("batch size", { $0.batchSize = 16 }),
        ("seed", { $0.seed = 1 }),
        ("precision", { $0.precision = .bf16 }),
    ]

    /// One change to each option that only phase 2 or scoring reads.
    static let phaseTwoChanges: [(String, (inout MOCCAConfiguration) -> Void)] = [
        ("taps", { $0.taps = ["code"] }),
        ("boundary", { $0.boundary = .soft }),
        ("nu", { $0.nu = 0.2 }),
        ("warm-up epochs", { $0.warmUpEpochs = 5 }),
        ("one-class epochs", { $0.oneClassEpochs = 7 }),
        ("one-class learning rate", { $0.oneClassLearningRate = 1e-2 }),
        ("one-class milestones", { $0.oneClassMilestones = [2, 4] }),
        ("fusion", { $0.fusion = .standardized }),
        ("reconstruction channel", { $0.reconstructionChannel = true }),
        ("tap score", { $0.tapScore = .nearestNeighbor }),
        ("neighbours", { $0.neighbors = 3 }),
    ]

    @Test("every phase-1 option changes the key", arguments: phaseOneChanges.map(\.0))
    func phaseOneOptionChangesKey(_ name: String) throws {
        var changed = Self.base
        try #require(Self.phaseOneChanges.first { $0.0 == name }).1(&changed)
        #expect(try Self.key(changed) != Self.key(Self.base))
    }

    @Test("no phase-2 option changes the key", arguments: phaseTwoChanges.map(\.0))
    func phaseTwoOptionKeepsKey(_ name: String) throws {
        var changed = Self.base
        try #require(Self.phaseTwoChanges.first { $0.0 == name }).1(&changed)
        #expect(changed != Self.base)
        #expect(try Self.key(changed) == Self.key(Self.base))
    }

    @Test("all phase-2 options at once leave the key, and the network is compared normalised")
    func phaseTwoTogetherAndNormalisedNetwork() throws {
        var changed = Self.base
        for (_, change) in Self.phaseTwoChanges { change(&changed) }
        #expect(try Self.key(changed) == Self.key(Self.base))
        // The default code length left out or spelled out is the same network.
        var implicit = Self.base, explicit = Self.base
        implicit.network = NetworkSpecification(name: "mnist-lenet", configuration: .object([:]))
        explicit.network = NetworkSpecification(name: "mnist-lenet", configuration: .object(["codeLength": .number(32)]))
        #expect(try Self.key(implicit) == Self.key(explicit))
    }

    @Test("the data's identity is part of the key")
    func dataIdentity() throws {
        let reference = try Self.key(Self.base)
        #expect(try Self.key(Self.base, dataset: "other") != reference)
        #expect(try Self.key(Self.base, normalClass: "stripes") != reference)
        #expect(try Self.key(Self.base, imageShape: [3, 28, 28]) != reference)
        #expect(try Self.key(Self.base, count: 17) != reference)
        #expect(try Self.key(Self.base, gcn: false) != reference)
    }

    @Test("the key is 16 hex digits, the same on every computation")
    func stableFormat() throws {
        let a = try Self.key(Self.base), b = try Self.key(Fixtures.configuration())
        #expect(a == b)
        #expect(a.value.count == 16 && a.value.allSatisfy(\.isHexDigit))
        // FNV-1a's published test vectors.
        #expect(PretrainingKey.fnv1a64(Array("".utf8)) == 0xcbf2_9ce4_8422_2325)
        #expect(PretrainingKey.fnv1a64(Array("a".utf8)) == 0xaf63_dc4c_8601_ec8c)
    }

    /// The rule's safe default: whatever MOCCAConfiguration holds is hashed, so a field
    /// added later is part of the key without anyone adding it. `precision` and `localMaps`
    /// are written only when they are not float32 and not nil, so that keys without them stay
    /// those of releases before them: they are in the text of a configuration that sets them.
    @Test("every stored option of the configuration is in the hashed text")
    func everyFieldIsHashed() throws {
        let text = try Self.key(Self.base).canonicalText
        var set = Self.base
        set.precision = .bf16
        set.localMaps = LocalMapOptions(tap: "conv1")
        let setText = try Self.key(set).canonicalText
        let fields = Mirror(reflecting: Self.base).children.compactMap(\.label)
        #expect(fields.count >= 19)
        let optional = ["precision", "localMaps"]
        for field in fields where !optional.contains(field) { #expect(text.contains("\"\(field)\""), "\(field) is not in \(text)") }
        for field in optional { #expect(fields.contains(field) && !text.contains("\"\(field)\"") && setText.contains("\"\(field)\""), "\(setText)") }
        #expect(setText.contains("\"precision\":\"bf16\"") && setText.contains("\"tap\":\"conv1\""), "\(setText)")
    }
}
