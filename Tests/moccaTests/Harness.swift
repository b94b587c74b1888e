import Foundation
import MOCCATestSupport
import Testing

/// What one run of the `mocca` executable did.
struct ToolRun {
    /// The exit status.
    var status: Int32
    /// Everything written to standard output.
    var stdout: String
    /// Everything written to standard error.
    var stderr: String
}

/// Runs the built `mocca` executable, as a user would.
enum Mocca {
    /// The executable: `MOCCA_BINARY` when set, else `mocca` beside the test runner in the
    /// build folder (the test target depends on the executable, so it is built there),
    /// else `.build/debug/mocca` of this package.
    static let binary: URL? = {
        if let path = ProcessInfo.processInfo.environment["MOCCA_BINARY"] { return URL(fileURLWithPath: path) }
        let package = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            Bundle.main.bundleURL,
            Bundle.main.executableURL?.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            package.appendingPathComponent(".build/debug"),
        ].compactMap { $0?.appendingPathComponent("mocca") }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }()

    /// Runs `mocca arguments` in `folder` with one thread (unless `environment` says
    /// otherwise), and returns what it did. Variables set to nil in `environment` are removed.
    static func run(_ arguments: [String], environment: [String: String?] = [:], in folder: URL? = nil) throws -> ToolRun {
        guard let binary else { throw HarnessError("the mocca executable was not found beside the tests; build it, or set MOCCA_BINARY") }
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var variables = ProcessInfo.processInfo.environment
        variables["MOCCA_THREADS"] = "1"
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        if let folder { process.currentDirectoryURL = folder }
        // Files rather than pipes: a full pipe would block the tool while we wait for it.
        let scratch = try makeTemporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("stdout"), err = scratch.appendingPathComponent("stderr")
        try Data().write(to: out)
        try Data().write(to: err)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()
        process.waitUntilExit()
        try outHandle.close()
        try errHandle.close()
        return ToolRun(status: process.terminationStatus,
                       stdout: try String(contentsOf: out, encoding: .utf8), stderr: try String(contentsOf: err, encoding: .utf8))
    }

    /// The training options of every test run: one epoch per phase, batches of 8.
    static let quick = ["--ae-epochs", "1", "--oc-epochs", "1", "--batch-size", "8"]

    /// `mocca train` on an image folder with the quick schedule.
    static func train(_ data: URL, normal: String = "a", out: URL, _ extra: [String] = []) throws -> ToolRun {
        try run(["train", "--dataset", "image-folder", "--data", data.path, "--normal-class", normal, "--out", out.path] + quick + extra)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Tiny image-folder data sets, written as PNG files.
enum TinyData {
    /// Writes `ROOT/{train,test}/<class>/NNN.png`: 32×32 RGB images, class `a` with
    /// vertical stripes and class `b` with horizontal ones, plus seeded noise, so that a
    /// detector trained on one class tells the other apart even after one epoch.
    static func imageFolder(at root: URL, train: Int = 16, test: Int = 4, classes: [String] = ["a", "b"]) throws {
        for (split, count) in [("train", train), ("test", test)] {
            for (label, name) in classes.enumerated() {
                for index in 0..<count {
                    try write(image(label: label, seed: UInt64(index + 1000 * label + (split == "test" ? 100 : 0))),
                              to: root.appendingPathComponent("\(split)/\(name)/\(String(format: "%03d", index)).png"))
                }
            }
        }
    }

    /// A 32×32 RGB image of class `label` (interleaved bytes).
    static func image(label: Int, seed: UInt64) -> [UInt8] {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        var pixels: [UInt8] = []
        pixels.reserveCapacity(32 * 32 * 3)
        for y in 0..<32 {
            for x in 0..<32 {
                let stripe = (label == 0 ? x : y) / 4 % 2 == 0 ? 70 : -70
                for _ in 0..<3 {
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    let noise = Int(state >> 59) - 16
                    pixels.append(UInt8(clamping: 128 + stripe + noise))
                }
            }
        }
        return pixels
    }

    /// Writes a 32×32 RGB image as a PNG file, creating its folder.
    static func write(_ pixels: [UInt8], to url: URL) throws {
        try writeBytes(makePNG(width: 32, height: 32, channels: 3, pixels: pixels), to: url)
    }
}

/// One data set and one detector trained on it, made once and shared by the tests that
/// only read them (a test that changes the detector works on a copy).
enum Shared {
    struct Fixture: Sendable {
        /// The image folder.
        var data: URL
        /// The detector trained on its class `a`, with its JSON report beside it.
        var detector: URL
        var report: URL
        /// The training run.
        var training: ToolRun
    }

    private static let made: Result<Fixture, Error> = Result {
        let root = try makeTemporaryDirectory("e2e")
        let data = root.appendingPathComponent("data"), detector = root.appendingPathComponent("det")
        let report = root.appendingPathComponent("report.json")
        try TinyData.imageFolder(at: data)
        let training = try Mocca.train(data, out: detector, ["--report", report.path])
        guard training.status == 0 else { throw HarnessError("training the shared detector failed: \(training.stderr)") }
        return Fixture(data: data, detector: detector, report: report, training: training)
    }

    /// The shared data set and detector, trained on first use.
    static func fixture() throws -> Fixture { try made.get() }

    /// A copy of the shared detector in a fresh folder, to change.
    static func detectorCopy(_ label: String) throws -> URL {
        let copy = try makeTemporaryDirectory(label).appendingPathComponent("det")
        try FileManager.default.copyItem(at: fixture().detector, to: copy)
        return copy
    }
}
