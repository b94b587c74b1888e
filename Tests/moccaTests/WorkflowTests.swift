import Foundation
import MOCCATestSupport
import Testing

/// The tool's normal path, run as a user would: train, score, evaluate, calibrate.
@Suite struct WorkflowTests {
    @Test func trainWritesADetectorAndAReport() throws {
        let fixture = try Shared.fixture()
        for name in ["manifest.json", "weights.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: fixture.detector.appendingPathComponent(name).path), "\(name)")
        }
        #expect(fixture.training.stdout.contains("saved the detector to \(fixture.detector.path)"))
        #expect(fixture.training.stdout.contains("AUROC"))
        #expect(fixture.training.stderr.contains("found 16 normal training images of 'a' and 8 test images, read a batch at a time"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: fixture.report)) as? [String: Any]
        #expect(report?["normalCount"] as? Int == 4)
        #expect(report?["anomalyCount"] as? Int == 4)
        #expect(report?["constantChannels"] as? [String] == [])
    }

    @Test func scoreWritesOneCSVRowPerImage() throws {
        let fixture = try Shared.fixture()
        let test = fixture.data.appendingPathComponent("test")
        // A hidden file is not an input.
        let hidden = test.appendingPathComponent("a/.hidden.png")
        try TinyData.write(TinyData.image(label: 0, seed: 7), to: hidden)
        defer { try? FileManager.default.removeItem(at: hidden) }
        let run = try Mocca.run(["score", fixture.detector.path, test.path])
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n")
        #expect(lines.first == "path,score,conv1,conv2,conv3,code,anomaly")
        #expect(lines.count == 9)
        #expect(!run.stdout.contains(".hidden"))
        #expect(lines.dropFirst().allSatisfy { $0.split(separator: ",").count == 7 })
    }

    @Test func evaluateReadsTheDataTheDetectorRecords() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("evaluate")
        defer { try? FileManager.default.removeItem(at: folder) }
        let json = folder.appendingPathComponent("evaluation.json")
        let run = try Mocca.run(["evaluate", fixture.detector.path, "--json", json.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("image-folder test split, normal class 'a':"))
        let report = try JSONSerialization.jsonObject(with: Data(contentsOf: json)) as? [String: Any]
        #expect(report?["channels"] as? [String] == ["conv1", "conv2", "conv3", "code"])
        #expect(report?["constantChannels"] as? [String] == [])
        // The AUROC's DeLong interval: in the table, and its standard error in the JSON.
        let overall = report?["overall"] as? [String: Any]
        let auroc = overall?["auroc"] as? Double ?? -1, error = overall?["aurocStandardError"] as? Double ?? -1
        #expect(error >= 0, "\(String(describing: overall))")
        #expect(run.stdout.contains("AUROC 95% CI"), "\(run.stdout)")
        let interval = String(format: "%.3f–%.3f", max(0, auroc - 1.959964 * error), min(1, auroc + 1.959964 * error))
        #expect(run.stdout.contains(interval), "\(run.stdout) lacks \(interval)")
    }

    @Test func calibrateRewritesTheThreshold() throws {
        let detector = try Shared.detectorCopy("calibrate")
        defer { try? FileManager.default.removeItem(at: detector.deletingLastPathComponent()) }
        let run = try Mocca.run(["calibrate", detector.path, "--contamination", "0.25"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("contamination 0.25"))
        let manifest = try String(contentsOf: detector.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"contamination\""))

        let normals = try Shared.fixture().data.appendingPathComponent("test/a")
        let fpr = try Mocca.run(["calibrate", detector.path, "--fpr", "0.25", "--normals", normals.path])
        #expect(fpr.status == 0, "\(fpr.stderr)")
        #expect(fpr.stdout.contains("target FPR 0.25"))
    }

    @Test func overwriteKeepsTheUsersFilesAndReportsLeftoversItRemoves() throws {
        let fixture = try Shared.fixture()
        let detector = try Shared.detectorCopy("overwrite")
        let parent = detector.deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: parent) }
        try Data("mine".utf8).write(to: detector.appendingPathComponent("notes.txt"))
        // A staging folder left by a killed save (no process has this id).
        let stale = parent.appendingPathComponent(".det.partial-999999")
        try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)

        let refused = try Mocca.train(fixture.data, out: detector, ["--no-evaluate"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("already holds a detector; pass --overwrite"))

        let run = try Mocca.train(fixture.data, out: detector, ["--no-evaluate", "--overwrite"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try String(contentsOf: detector.appendingPathComponent("notes.txt"), encoding: .utf8) == "mine")
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(run.stderr.contains("note: removed \(stale.path)"), "\(run.stderr)")
    }
}
