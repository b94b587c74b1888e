import Foundation
import MOCCACore
import MOCCATestSupport
import Testing

/// `--precision bf16` on `mocca train` and the speed measurements: refused before any work
/// where oneDNN has no native bf16 (checked on every host by capping oneDNN at AVX2), and
/// recorded in the detector where it has.
@Suite struct PrecisionOptionTests {
    /// oneDNN without bf16 on any x86 host.
    static let noBF16: [String: String?] = ["ONEDNN_MAX_CPU_ISA": "AVX2"]

    @Test func trainingInBF16IsRefusedUpFrontWithoutIt() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("bf16-refused")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("det")
        let run = try Mocca.run(["train", "--dataset", "image-folder", "--data", fixture.data.path, "--normal-class", "a",
                                 "--out", out.path, "--precision", "bf16"] + Mocca.quick, environment: Self.noBF16)
        #expect(run.status == OptionErrorTests.usageError, "\(run.stderr)")
        #expect(run.stderr.contains("--precision bf16 needs a CPU with AVX512-BF16 or AMX; oneDNN runs avx2 here"), "\(run.stderr)")
        #expect(run.stderr.contains("Usage: mocca train"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test(arguments: ["core", "one-class", "score", "mvtec-ae"])
    func speedMeasurementsRefuseBF16WithoutIt(_ subcommand: String) throws {
        let run = try Mocca.run(["speed", subcommand, "--precision", "bf16", "--samples", "1", "--steps", "1", "--warmup", "0"],
                                environment: Self.noBF16)
        #expect(run.status == OptionErrorTests.usageError, "\(run.stderr)")
        #expect(run.stderr.contains("needs a CPU with AVX512-BF16 or AMX"), "\(run.stderr)")
    }

    @Test(.enabled(if: ComputePrecision.bf16IsNative, "oneDNN has no native bf16 on this CPU (or ONEDNN_MAX_CPU_ISA caps it)"))
    func aDetectorTrainedInBF16IsRecordedAndEvaluatesOnAHostWithoutIt() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("bf16-train")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("det")
        let run = try Mocca.train(fixture.data, out: out, ["--precision", "bf16"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("overall"), "\(run.stdout)")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("manifest.json"))) as? [String: Any]
        #expect((manifest?["configuration"] as? [String: Any])?["precision"] as? String == "bf16")
        // Scoring defaults to float32, so the detector works where bf16 does not.
        let evaluation = try Mocca.run(["evaluate", out.path], environment: Self.noBF16)
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.contains("overall"), "\(evaluation.stdout)")
    }
}
