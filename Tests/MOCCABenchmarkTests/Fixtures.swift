import Foundation
import MOCCA
import MOCCACore
import MOCCABenchmark

/// Tiny synthetic data and a tiny schedule, so that a whole benchmark runs in seconds.
enum Fixtures {
    static let classes = ["blob", "stripes"]

    /// 28×28 grey images: class 0 a bright blob at a random place, class 1 vertical stripes.
    static func images(perClass: Int, seed: UInt64) throws -> ImageDataset {
        var generator = RandomGenerator(seed: seed)
        var pixels: [UInt8] = [], labels: [Int] = []
        for label in classes.indices {
            for _ in 0..<perClass {
                let cx = 8 + 12 * generator.nextUniform(), cy = 8 + 12 * generator.nextUniform()
                for y in 0..<28 {
                    for x in 0..<28 {
                        let noise = 30 * generator.nextUniform()
                        let value: Float = label == 0
                            ? 200 * exp(-((Float(x) - cx) * (Float(x) - cx) + (Float(y) - cy) * (Float(y) - cy)) / 18) + noise
                            : (x / 3) % 2 == 0 ? 180 + noise : noise
                        pixels.append(UInt8(min(max(value, 0), 255)))
                    }
                }
                labels.append(label)
            }
        }
        return try ImageDataset(imageShape: [1, 28, 28], pixels: pixels, labels: labels, classNames: classes,
                                sources: labels.indices.map { "synthetic#\($0)" })
    }

    static func data() throws -> BenchmarkData {
        BenchmarkData(dataset: "synthetic", path: "memory", training: try images(perClass: 16, seed: 1), test: try images(perClass: 8, seed: 2))
    }

    /// The paper's recipe on the MNIST LeNet, one epoch per phase, batches of 8.
    static func configuration() -> MOCCAConfiguration {
        var c = MOCCAConfiguration(recipe: .paper)
        c.network = NetworkSpecification(name: "mnist-lenet", configuration: .object(["codeLength": .number(16)]))
        c.taps = ["conv1", "conv2", "code"]
        c.autoencoderEpochs = 1
        c.oneClassEpochs = 1
        c.warmUpEpochs = 0
        c.batchSize = 8
        return c
    }

    static let provenance = BenchmarkProvenance(toolVersion: "9.9.9", gitCommit: String(repeating: "ab", count: 20))

    /// A fresh empty folder under the temporary directory; the caller removes it.
    static func temporaryFolder(_ label: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-benchmark-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A record with the given run and AUROC and otherwise fixed values.
    static func record(_ normalClass: String = "blob", seed: UInt64 = 0, boundary: MOCCAConfiguration.Boundary = .hard,
                       auroc: Double = 0.75, provenance: BenchmarkProvenance? = Fixtures.provenance) -> BenchmarkRecord {
        var configuration = configuration()
        configuration.seed = seed
        configuration.boundary = boundary
        return BenchmarkRecord(dataset: "synthetic", normalClass: normalClass, seed: seed, boundary: boundary.rawValue,
                               auroc: auroc, perChannelAUROC: ["conv1": 0.5, "code": auroc], meanFusionAUROC: auroc - 0.1,
                               standardizedFusionAUROC: auroc, subsetAUROC: nil, pretrainSeconds: 1, oneClassSeconds: 2,
                               configuration: configuration, provenance: provenance)
    }
}

/// What a runner reported, gathered.
final class EventLog {
    private(set) var events: [BenchmarkEvent] = []

    func record(_ event: BenchmarkEvent) { events.append(event) }

    var pretrainings: [String] {
        events.compactMap { if case let .pretraining(c, s, _) = $0 { return "\(c)/\(s)" } else { return nil } }
    }
    var reuses: [String] {
        events.compactMap { if case let .reusingPretrained(c, s, _) = $0 { return "\(c)/\(s)" } else { return nil } }
    }
    var finished: [BenchmarkRecord] {
        events.compactMap { if case .finished(let r) = $0 { return r } else { return nil } }
    }
    var warnings: [String] {
        events.compactMap { if case .warning(let w) = $0 { return w } else { return nil } }
    }
}
