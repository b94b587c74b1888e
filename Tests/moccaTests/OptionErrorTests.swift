import Foundation
import MOCCATestSupport
import Testing

/// Bad options and paths are reported before any work, with the subcommand's usage.
@Suite struct OptionErrorTests {
    /// argument-parser's status for a usage error (EX_USAGE).
    static let usageError: Int32 = 64

    @Test(arguments: ["0", "-3", "abc", "100000"])
    func threadsOptionOutOfRangeIsRejected(_ value: String) throws {
        let run = try Mocca.run(["score", try Shared.fixture().detector.path, "--threads", value, "nothing.png"])
        #expect(run.status == Self.usageError, "\(run.stderr)")
        #expect(run.stderr.contains("Error: --threads: invalid argument:"), "\(run.stderr)")
        #expect(run.stderr.contains("Usage: mocca score"))
    }

    @Test(arguments: ["0", "-3", "abc", "100000"])
    func threadsVariableOutOfRangeIsRejected(_ value: String) throws {
        let run = try Mocca.run(["score", try Shared.fixture().detector.path, "nothing.png"], environment: ["MOCCA_THREADS": value])
        #expect(run.status == Self.usageError, "\(run.stderr)")
        #expect(run.stderr.contains("Error: MOCCA_THREADS: invalid argument:"), "\(run.stderr)")
    }

    @Test func aNegativeNormalClassIsNamedNotMistakenForAFlag() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("class")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Mocca.train(fixture.data, normal: "-1", out: folder.appendingPathComponent("det"))
        #expect(run.status == Self.usageError)
        #expect(run.stderr.contains("--normal-class: '-1' is not a class index 0...1 or a class name (a, b)"), "\(run.stderr)")
        #expect(run.stderr.contains("Usage: mocca train"))
        #expect(!run.stderr.contains("Missing value"))
    }

    @Test func theDemoChecksItsOptionsBeforeLoadingItsData() throws {
        let folder = try makeTemporaryDirectory("demo")
        defer { try? FileManager.default.removeItem(at: folder) }
        let badClass = try Mocca.run(["demo", "--normal-class", "-1"])
        #expect(badClass.status == Self.usageError)
        #expect(badClass.stderr.contains("--normal-class: '-1' is not a class index 0...9 or a class name (t-shirt, trouser,"), "\(badClass.stderr)")
        #expect(badClass.stderr.contains("Usage: mocca demo"))
        let taken = try Mocca.run(["demo", "--out", folder.path])
        #expect(taken.status == Self.usageError)
        #expect(taken.stderr.contains("--out \(folder.path) exists and is not a detector folder"), "\(taken.stderr)")
        let detector = try Shared.detectorCopy("demo-out")
        defer { try? FileManager.default.removeItem(at: detector.deletingLastPathComponent()) }
        let existing = try Mocca.run(["demo", "--out", detector.path])
        #expect(existing.stderr.contains("already holds a detector; choose another --out"), "\(existing.stderr)")
    }

    @Test func aMethodOptionErrorShowsTheSubcommandsUsage() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("usage")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Mocca.train(fixture.data, out: folder.appendingPathComponent("det"), ["--ae-lr", "0"])
        #expect(run.status == Self.usageError)
        #expect(run.stderr.contains("learning rates must be positive"))
        #expect(run.stderr.contains("Usage: mocca train"), "\(run.stderr)")
        #expect(!run.stderr.contains("mocca <subcommand>"))
        #expect(!run.stderr.contains("loaded"), "checked before loading the data")
    }

    @Test func anUnwritableReportPathStopsTrainingBeforeItStarts() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("report")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("det")
        let report = folder.appendingPathComponent("missing/report.json")
        let run = try Mocca.train(fixture.data, out: out, ["--report", report.path])
        #expect(run.status == Self.usageError)
        #expect(run.stderr.contains("--report \(report.path): the folder \(folder.appendingPathComponent("missing").path) does not exist"), "\(run.stderr)")
        #expect(!run.stderr.contains("epoch"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func anOutPathUnderAFileIsRejected() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("out-under-file")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("file")
        try Data().write(to: file)
        let run = try Mocca.train(fixture.data, out: file.appendingPathComponent("det"))
        #expect(run.status == Self.usageError)
        #expect(run.stderr.contains("\(file.path) is a file, not a folder"), "\(run.stderr)")
    }

    @Test func aReportWithoutEvaluationIsRejected() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("report-no-eval")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Mocca.train(fixture.data, out: folder.appendingPathComponent("det"),
                                  ["--no-evaluate", "--report", folder.appendingPathComponent("r.json").path])
        #expect(run.status == Self.usageError)
        #expect(run.stderr.contains("needs the evaluation"), "\(run.stderr)")
    }

    @Test func aMissingTestSplitIsRejectedUnlessEvaluationIsOff() throws {
        let folder = try makeTemporaryDirectory("no-test")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try TinyData.imageFolder(at: data, test: 0)  // no test folder at all
        let out = folder.appendingPathComponent("det")

        let refused = try Mocca.train(data, out: out)
        #expect(refused.status == Self.usageError)
        #expect(refused.stderr.contains("has no test split \(data.appendingPathComponent("test").path)"), "\(refused.stderr)")
        #expect(refused.stderr.contains("--no-evaluate"))

        let trained = try Mocca.train(data, out: out, ["--no-evaluate"])
        #expect(trained.status == 0, "\(trained.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.json").path))
    }

    @Test func aMissingDataFolderIsNamed() throws {
        let folder = try makeTemporaryDirectory("no-data")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("nowhere")
        let run = try Mocca.train(data, out: folder.appendingPathComponent("det"))
        #expect(run.status == Self.usageError)
        #expect(run.stderr.contains("--data \(data.path): no such folder"), "\(run.stderr)")
    }

    @Test func aContaminationOutOfRangeIsReportedOnce() throws {
        let detector = try Shared.detectorCopy("contamination")
        defer { try? FileManager.default.removeItem(at: detector.deletingLastPathComponent()) }
        let run = try Mocca.run(["calibrate", detector.path, "--contamination", "0"])
        #expect(run.status != 0)
        let message = "the contamination rate must be in (0, 1), got 0.0"
        #expect(run.stderr.components(separatedBy: message).count == 2, "\(run.stderr)")
        #expect(run.stderr.contains(detector.path))
    }
}
