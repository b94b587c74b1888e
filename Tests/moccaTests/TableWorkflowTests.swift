import Foundation
import MOCCATestSupport
import Testing

/// Tables through the tool, as a user would run them: train on a CSV's normal rows,
/// score and evaluate other files, and the ADBench benchmark on generated archives.
@Suite(.serialized) struct TableWorkflowTests {
    /// Rows near a 2-dimensional subspace of 6 features; anomalies leave it. Column `id`
    /// is text, `flat` is constant, `label` marks anomalies.
    static func csv(normal: Int, anomalies: Int, seed: UInt64, missingAt: Int? = nil) -> String {
        var generator = SplitMix(seed: seed)
        var lines = ["id,f1,f2,f3,flat,f4,f5,f6,label"]
        for i in 0..<(normal + anomalies) {
            let anomalous = i >= normal
            let (a, b) = (generator.normal(), generator.normal())
            var features = [a, b, a + b, a - b, 2 * a, b - 0.5 * a].map { $0 * 3 + 10 + 0.05 * generator.normal() }
            if anomalous { features = features.map { $0 + 4 * generator.normal() } }
            var cells = features.map { String(format: "%.5f", $0) }
            if i == missingAt { cells[2] = "" }
            lines.append((["row\(i)"] + cells[..<3] + ["7"] + cells[3...] + [anomalous ? "1" : "0"]).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static let schedule = ["--ae-epochs", "8", "--oc-epochs", "2", "--batch-size", "32"]

    @Test func trainScoreAndEvaluateACSVTable() throws {
        let folder = try makeTemporaryDirectory("table-workflow")
        defer { try? FileManager.default.removeItem(at: folder) }
        let train = folder.appendingPathComponent("train.csv"), test = folder.appendingPathComponent("test.csv")
        // The training file holds a few labelled anomalies: they must be left out of training.
        try Self.csv(normal: 300, anomalies: 10, seed: 1).write(to: train, atomically: true, encoding: .utf8)
        try Self.csv(normal: 60, anomalies: 20, seed: 2).write(to: test, atomically: true, encoding: .utf8)
        let detector = folder.appendingPathComponent("detector"), report = folder.appendingPathComponent("report.json")
        let training = try Mocca.run(["train", "--dataset", "table", "--data", train.path, "--label-column", "label", "--exclude", "id",
                                      "--test", test.path, "--report", report.path, "--out", detector.path] + Self.schedule)
        #expect(training.status == 0, "\(training.stderr)")
        #expect(training.stderr.contains("read 310 rows × 7 features"), "\(training.stderr)")
        #expect(training.stderr.contains("training on 300 normal rows"))
        #expect(training.stderr.contains("constant in training, left unscaled: flat"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any]
        let overall = json?["overall"] as? [String: Any]
        // Measured 0.99+: the anomalies are far off the normal rows' subspace.
        #expect((overall?["auroc"] as? Double ?? 0) > 0.9, "\(String(describing: overall))")
        #expect(json?["anomalyCount"] as? Int == 20)

        let scored = folder.appendingPathComponent("scores.csv")
        let score = try Mocca.run(["score", detector.path, test.path, "--output", scored.path])
        #expect(score.status == 0, "\(score.stderr)")
        let lines = try String(contentsOf: scored, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "row,score,hidden1,code,anomaly")
        #expect(lines.count == 81)
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",").count == 5 })

        let evaluation = try Mocca.run(["evaluate", detector.path, "--data", test.path, "--label-column", "label"])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.contains("AUROC"))
        // The evaluation reads the file as training did: the same scores, the same AUROC.
        let reported = String(format: "%9.4f", overall?["auroc"] as? Double ?? -1)
        #expect(evaluation.stdout.contains(reported), "\(evaluation.stdout) vs \(reported)")
    }

    @Test func badCellsAreNamedAndMissingValuesAreImputedOnRequest() throws {
        let folder = try makeTemporaryDirectory("table-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let train = folder.appendingPathComponent("train.csv")
        try Self.csv(normal: 40, anomalies: 0, seed: 3, missingAt: 4).write(to: train, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("d")
        let refused = try Mocca.run(["train", "--dataset", "table", "--data", train.path, "--label-column", "label", "--exclude", "id", "--out", out.path] + Mocca.quick)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("row 5") && refused.stderr.contains("f3") && refused.stderr.contains("--impute median"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let imputed = try Mocca.run(["train", "--dataset", "table", "--data", train.path, "--label-column", "label", "--exclude", "id",
                                     "--impute", "median", "--batch-norm", "--hidden-sizes", "16,8", "--out", out.path] + Mocca.quick)
        #expect(imputed.status == 0, "\(imputed.stderr)")
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"batchNorm\" : true") && manifest.contains("fillValues"), "\(manifest.prefix(600))")
        // The imputed detector fills the test file's gaps with its training medians.
        let scored = try Mocca.run(["score", out.path, train.path])
        #expect(scored.status == 0, "\(scored.stderr)")
        #expect(scored.stdout.split(separator: "\n").count == 41)

        let ragged = folder.appendingPathComponent("ragged.csv")
        try "a,b\n1,2\n3\n".write(to: ragged, atomically: true, encoding: .utf8)
        let run = try Mocca.run(["train", "--dataset", "table", "--data", ragged.path, "--out", folder.appendingPathComponent("r").path] + Mocca.quick)
        #expect(run.status != 0)
        #expect(run.stderr.contains("row 2"), "\(run.stderr)")
        let text = try Mocca.run(["train", "--dataset", "table", "--data", train.path, "--out", folder.appendingPathComponent("t").path] + Mocca.quick)
        #expect(text.status != 0)
        #expect(text.stderr.contains("'id'") && text.stderr.contains("row0"), "\(text.stderr)")
        let missingLabel = try Mocca.run(["train", "--dataset", "table", "--data", train.path, "--label-column", "target", "--out", folder.appendingPathComponent("m").path] + Mocca.quick)
        #expect(missingLabel.status != 0)
        #expect(missingLabel.stderr.contains("target"), "\(missingLabel.stderr)")
    }

    @Test func adbenchRunsResumesAndTabulatesWithPyODRecords() throws {
        let folder = try makeTemporaryDirectory("adbench")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for (name, seed) in [("1_first", UInt64(5)), ("2_second", UInt64(6))] {
            let rows = Self.csv(normal: 80, anomalies: 8, seed: seed).split(separator: "\n").dropFirst()
                .map { $0.split(separator: ",").map(String.init) }
            let x = rows.map { $0[1...7].compactMap(Double.init) }, y = rows.map { Int64($0[8]) ?? 0 }
            try NumPyFiles.archive(["X": NumPyFiles.array(x), "y": NumPyFiles.array(y)]).write(to: data.appendingPathComponent("\(name).npz"))
        }
        let arguments = ["benchmark", "adbench", "--data", data.path, "--out", out.path, "--seeds", "0"] + Mocca.quick
        let first = try Mocca.run(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("1_first seed 0: 56 training rows, 32 test rows, 7 features"), "\(first.stderr)")
        let split = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("splits/1_first-seed0.json"))) as? [String: [Int]]
        #expect(split?["train"]?.count == 56 && split?["test"]?.count == 32)
        let records = try String(contentsOf: out.appendingPathComponent("mocca.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(records.count == 12)
        #expect(first.stdout.contains("| 1_first |") && first.stdout.contains("mocca-nn-hard"))

        let again = try Mocca.run(arguments)
        #expect(again.status == 0)
        #expect(!again.stderr.contains("training rows"), "a finished run is not redone: \(again.stderr)")
        let pyod = #"{"aupr":0.5,"auroc":0.75,"dataset":"1_first","method":"DeepSVDD","producer":"test","seconds":1,"seed":0,"testRows":32,"trainRows":56}"#
        try (pyod + "\n").write(to: out.appendingPathComponent("pyod.jsonl"), atomically: true, encoding: .utf8)
        let table = try Mocca.run(arguments + ["--table-only"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("DeepSVDD"))
        // DeepSVDD lacks the second set, so the means cover the first only, and say so.
        #expect(table.stdout.contains("(1 sets)") && table.stdout.contains("Left out of the means (a method lacks a seed): 2_second"), "\(table.stdout)")
    }
}

/// A seeded generator for test data (SplitMix64), independent of the library's.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    /// Box-Muller.
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-12), v = uniform()
        return (-2 * Foundation.log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
