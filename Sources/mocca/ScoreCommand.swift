import ArgumentParser
import Foundation
import MOCCA

/// `mocca score`: anomaly scores of image files with a saved detector, as CSV.
struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score JPEG/PNG images (files or folders, searched recursively) with a detector; writes CSV.",
        discussion: """
            Columns: path, score, one column per tap (and reconstruction), anomaly (1 when the
            score is above the detector's threshold). Images are read and scored a batch at a
            time. An image that cannot be read, or is not the size the detector expects, is
            reported on standard error with the reason and left out of the CSV; the others are
            scored, and the tool then exits with status \(Score.someImagesFailed.rawValue) (0 with --skip-bad).
            """)

    /// The exit status when some images could not be scored (the rest were).
    static let someImagesFailed = ExitCode(2)

    @Argument(help: "The detector folder.") var model: String
    @Argument(help: "Image files or folders.") var inputs: [String]
    @Option(help: "Write the CSV to this file instead of standard output.") var output: String?
    @Flag(help: "Exit with status 0 even when some images could not be read (they are still reported).")
    var skipBad = false
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        if let output { try checkWritable(output, option: "--output") }
    }

    func run() throws {
        try threads.apply()
        let detector = try MOCCADetector.load(from: URL(fileURLWithPath: model))
        let files = try imageFiles(inputs)
        var csv = "", failures = 0
        // Standard output gets the header and each batch as it is scored; a file is written
        // whole, atomically.
        func emit(_ text: String) { if output == nil { print(text, terminator: "") } else { csv += text } }
        emit((["path", "score"] + detector.channels + ["anomaly"]).joined(separator: ",") + "\n")
        try scoreImageFiles(files, with: detector, scored: { batch, scores in
            var text = ""
            for (i, file) in batch.enumerated() {
                let fields = [csvField(file), "\(scores.overall[i])"] + scores.perChannel.map { "\($0[i])" }
                    + [scores.overall[i] > detector.threshold ? "1" : "0"]
                text += fields.joined(separator: ",") + "\n"
            }
            emit(text)
        }, failed: { _, message in
            failures += 1
            printError("skipped \(message)")
        })
        if let output { try writeAtomically(Data(csv.utf8), to: output) }
        guard failures > 0 else { return }
        printError("\(failures) of \(files.count) images could not be scored (see above)"
                   + (skipBad ? "" : "; the others were scored. Pass --skip-bad to exit with status 0 anyway"))
        if !skipBad { throw Self.someImagesFailed }
    }

    private func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
