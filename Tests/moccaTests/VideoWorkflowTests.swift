import Foundation
import MOCCATestSupport
import Testing

/// Videos through the tool: train on a ShanghaiTech-layout tree, evaluate frame by frame,
/// score a video folder.
@Suite(.serialized) struct VideoWorkflowTests {
    /// A 32×32 grey frame: a soft gradient drifting with `f`, plus, when `anomalous`, a
    /// bright square.
    static func frame(_ f: Int, anomalous: Bool) -> [UInt8] {
        (0..<(32 * 32)).map { i in
            let (y, x) = (i / 32, i % 32)
            if anomalous, (10..<22).contains(y), (10..<22).contains(x) { return 250 }
            return UInt8(40 + (x + y + f) % 32 * 3)
        }
    }

    static func writeTree(_ root: URL) throws {
        func video(_ folder: String, frames: Int, anomalous: (Int) -> Bool = { _ in false }) throws {
            let url = root.appendingPathComponent(folder)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            for f in 0..<frames {
                try writeBytes(makePNG(width: 32, height: 32, channels: 1, pixels: frame(f, anomalous: anomalous(f))),
                               to: url.appendingPathComponent(String(format: "%03d.png", f)))
            }
        }
        try video("training/frames/01", frames: 12)
        try video("training/frames/02", frames: 10)
        try video("testing/frames/01", frames: 12, anomalous: { $0 >= 6 })
        let labels = Data((0..<12).map { $0 >= 6 ? UInt8(1) : 0 })
        let masks = root.appendingPathComponent("testing/test_frame_mask")
        try FileManager.default.createDirectory(at: masks, withIntermediateDirectories: true)
        try NumPyFiles.file(descriptor: "|u1", shape: [12], payload: labels).write(to: masks.appendingPathComponent("01.npy"))
    }

    static let options = ["--frame-size", "32x32", "--clip-length", "4", "--clips-per-epoch", "16",
                          "--ae-epochs", "1", "--oc-epochs", "1", "--batch-size", "4"]

    @Test func trainEvaluateAndScoreVideos() throws {
        let root = try makeTemporaryDirectory("video-workflow")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writeTree(root.appendingPathComponent("data"))
        let data = root.appendingPathComponent("data"), detector = root.appendingPathComponent("det")
        let report = root.appendingPathComponent("report.json")
        let training = try Mocca.run(["train", "--dataset", "video", "--data", data.path, "--out", detector.path, "--report", report.path] + Self.options)
        #expect(training.status == 0, "\(training.stderr)")
        #expect(training.stderr.contains("decoded 22 training frames of 2 videos"), "\(training.stderr)")
        #expect(training.stdout.contains("combined (one-class + recon.)") && training.stdout.contains("12 frames of 1 videos, 6 anomalous"), "\(training.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any]
        #expect(json?["frameCount"] as? Int == 12)
        // The bright square is far from anything in training: the reconstruction error finds it.
        let reconstruction = (json?["reconstruction"] as? [String: Any])?["auroc"] as? Double
        #expect((reconstruction ?? 0) > 0.9, "\(String(describing: json?["reconstruction"]))")
        // Frames of one video are not independent: the interval counts videos, and one
        // video leaves nothing to estimate it from, where counting frames would claim one.
        let metrics = json?["reconstruction"] as? [String: Any]
        #expect(metrics?["aurocGroupCount"] as? Int == 1 && metrics?["aurocStandardError"] == nil, "\(String(describing: metrics))")
        #expect(training.stdout.contains("AUROC intervals count videos, not frames"), "\(training.stdout)")
        // The frame-local reconstruction score beside it, at the default cell (32 / 8 px).
        #expect(training.stdout.contains("one-class + local recon.") && training.stdout.contains("local reconstruction "), "\(training.stdout)")
        #expect(json?["localReconstruction"] is [String: Any] && json?["combinedLocal"] is [String: Any] && json?["localCell"] as? Int == 4)

        let evaluation = try Mocca.run(["evaluate", detector.path])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.contains("frame-level score") && evaluation.stdout.contains("largest 4x4-px cell mean"), "\(evaluation.stdout)")

        let reportFolder = root.appendingPathComponent("html")
        let reported = try Mocca.run(["report", detector.path, "--out", reportFolder.path])
        #expect(reported.status == 0, "\(reported.stderr)")
        let page = try String(contentsOf: reportFolder.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(page.contains("12 frames of 1 videos, 6 anomalous") && page.contains("video-001.png"), "\(page)")
        #expect(page.contains("local reconstruction error") && page.contains("one-class + local reconstruction"), "\(page)")
        #expect(FileManager.default.fileExists(atPath: reportFolder.appendingPathComponent("video-001.png").path))

        let scores = try Mocca.run(["score", detector.path, data.appendingPathComponent("testing/frames/01").path])
        #expect(scores.status == 0, "\(scores.stderr)")
        let lines = scores.stdout.split(separator: "\n")
        #expect(lines.first == "video,frame,file,score,one_class,reconstruction,combined,local_reconstruction,combined_local")
        #expect(lines.count == 13)
        // Every frame has both local columns, the normalised one within [0, 1].
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            #expect(fields.count == 9 && (Float(fields[7]).map { (0...1).contains($0) } ?? false) && Float(fields[8]) != nil, "\(line)")
        }

        // Selector heads, trained end to end with the rest; recorded in the manifest.
        let selecting = root.appendingPathComponent("selecting")
        let withSelectors = try Mocca.run(["train", "--dataset", "video", "--data", data.path, "--out", selecting.path,
                                           "--selectors", "--end-to-end"] + Self.options)
        #expect(withSelectors.status == 0, "\(withSelectors.stderr)")
        let manifest = try String(contentsOf: selecting.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.replacingOccurrences(of: " ", with: "").contains("\"selectors\":true"), "\(manifest)")
        // A network without selector heads refuses the flag, naming it.
        let table = root.appendingPathComponent("rows.csv")
        try Data("a,b\n1,2\n2,3\n3,5\n4,4\n".utf8).write(to: table)
        let noSelectors = try Mocca.run(["train", "--dataset", "table", "--data", table.path, "--out", root.appendingPathComponent("t").path, "--selectors"])
        #expect(noSelectors.status != 0 && noSelectors.stderr.contains("--selectors applies to networks with selector heads"), "\(noSelectors.stderr)")

        let refused = try Mocca.run(["train", "--dataset", "video", "--data", data.path, "--out", root.appendingPathComponent("x").path,
                                     "--frame-size", "30x32"] + Self.options.dropFirst(2))
        #expect(refused.status != 0 && refused.stderr.contains("multiple of 32"), "\(refused.stderr)")
    }
}
