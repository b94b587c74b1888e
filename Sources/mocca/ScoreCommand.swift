import ArgumentParser
import Foundation
import MOCCA

/// `mocca score`: anomaly scores of image files with a saved detector, as CSV.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score JPEG/PNG images (files or folders, searched recursively) with a detector; writes CSV.",
        discussion: "Columns: path, score, one column per tap (and reconstruction), anomaly (1 when the score is above the detector's threshold).")

    @Argument(help: "The detector folder.") var model: String
    @Argument(help: "Image files or folders.") var inputs: [String]
    @Option(help: "Write the CSV to this file instead of standard output.") var output: String?
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        try threads.apply()
        let detector = try MOCCADetector.load(from: URL(fileURLWithPath: model))
        let (files, images) = try loadImages(inputs, for: detector)
        let scores = try detector.score(images)
        var csv = (["path", "score"] + scores.channels + ["anomaly"]).joined(separator: ",") + "\n"
        for (i, file) in files.enumerated() {
            let fields = [csvField(file), "\(scores.overall[i])"] + scores.perChannel.map { "\($0[i])" }
                + [scores.overall[i] > detector.threshold ? "1" : "0"]
            csv += fields.joined(separator: ",") + "\n"
        }
        if let output { try writeAtomically(Data(csv.utf8), to: output) } else { print(csv, terminator: "") }
    }

    private func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
