import Foundation
import MOCCA
import MOCCACore
import Testing

/// ``MOCCAConfiguration/precision``: a detector trained in bf16 records it, scores in it
/// while it is being fitted, loads on any host (scoring in float32), and a host without
/// native bf16 refuses to train in it rather than emulate it.
@Suite("Training precision")
struct TrainingPrecisionTests {
    static func configuration(_ precision: Precision) -> MOCCAConfiguration {
        var configuration = DetectorTests.configuration(seed: 5, epochs: 1)
        configuration.precision = precision
        return configuration
    }

    @Test func float32IsNotWrittenSoOlderManifestsAndKeysStayTheSame() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let float32 = String(decoding: try encoder.encode(Self.configuration(.fp32)), as: UTF8.self)
        #expect(!float32.contains("precision"), "\(float32)")
        let bf16 = try encoder.encode(Self.configuration(.bf16))
        #expect(String(decoding: bf16, as: UTF8.self).contains("\"precision\":\"bf16\""))
        #expect(try JSONDecoder().decode(MOCCAConfiguration.self, from: bf16).precision == .bf16)
        #expect(try JSONDecoder().decode(MOCCAConfiguration.self, from: Data(float32.utf8)).precision == .fp32)
    }

    @Test(.enabled(if: ComputePrecision.bf16IsNative, "oneDNN has no native bf16 on this CPU (or ONEDNN_MAX_CPU_ISA caps it)"))
    func aDetectorTrainedInBF16RecordsItAndLoadsScoringInFloat32() throws {
        let directory = try makeTemporaryDirectory("bf16-detector")
        defer { try? FileManager.default.removeItem(at: directory) }
        let detector = try MOCCADetector(configuration: Self.configuration(.bf16))
        #expect(detector.scoringPrecision == .bf16)
        try detector.fit(normal: DetectorTests.train)
        let float32 = try MOCCADetector(configuration: Self.configuration(.fp32))
        try float32.fit(normal: DetectorTests.train)
        // Trained in another arithmetic, the network ends elsewhere, but not far.
        let (bf16Weights, float32Weights) = (detector.network.stateDictionary(), float32.network.stateDictionary())
        #expect(bf16Weights.keys.sorted() == float32Weights.keys.sorted())
        #expect(bf16Weights.contains { key, value in value.scalars != float32Weights[key]?.scalars })
        for (key, value) in bf16Weights {
            guard let other = float32Weights[key] else { continue }
            #expect(relativeL2Error(value, other) < 0.1, "\(key)")
        }

        let url = directory.appendingPathComponent("det")
        try detector.save(to: url)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url.appendingPathComponent("manifest.json"))) as? [String: Any]
        let recorded = (manifest?["configuration"] as? [String: Any])?["precision"] as? String
        #expect(recorded == "bf16")
        let loaded = try MOCCADetector.load(from: url)
        #expect(loaded.configuration.precision == .bf16)
        #expect(loaded.scoringPrecision == .fp32)
        // In the precision it was fitted in, it scores as before it was saved.
        loaded.scoringPrecision = .bf16
        #expect(try loaded.score(DetectorTests.test.0).overall == detector.score(DetectorTests.test.0).overall)
    }

    @Test(.enabled(if: !ComputePrecision.bf16IsNative, "oneDNN runs native bf16 here; the refusal is checked where it does not"))
    func withoutNativeBF16TrainingRefusesButTheDetectorStillExists() throws {
        // The detector itself is fine (a bf16-trained one must load anywhere); training it is not.
        let detector = try MOCCADetector(configuration: Self.configuration(.bf16))
        do {
            try detector.fit(normal: DetectorTests.train)
            Issue.record("training in bf16 ran on \(ComputePrecision.isaName)")
        } catch let error as TensorError {
            #expect("\(error)".contains("AVX512-BF16") && "\(error)".contains(ComputePrecision.isaName), "\(error)")
        }
    }
}
