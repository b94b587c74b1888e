import ArgumentParser
import Foundation
import MOCCA
import MOCCACore
import MOCCAData

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
    @Argument(help: "Image files or folders; for a detector trained on a table, one table file (.csv, .tsv, .npy, .npz).") var inputs: [String]
    @Option(help: "Write the CSV to this file instead of standard output.") var output: String?
    @Flag(help: "Exit with status 0 even when some images could not be read (they are still reported).")
    var skipBad = false
    @OptionGroup var threads: ThreadOptions
    @Option(help: ArgumentHelp(precisionHelp))
    var precision: Precision = .fp32

    func validate() throws {
        try checkPrecision(precision)
        if let output { try checkWritable(output, option: "--output") }
    }

    func run() throws {
        try threads.apply()
        let detector = try MOCCADetector.load(from: URL(fileURLWithPath: model))
        detector.scoringPrecision = precision
        if let table = detector.trainingData?.table { return try scoreTable(with: detector, description: table) }
        if let video = detector.trainingData?.video { return try scoreVideos(with: detector, description: video) }
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

    /// Scores every row of a table file, a chunk at a time for CSV, so that a file of any
    /// length scores in bounded memory. Columns: row (1-based), score, one per channel, anomaly.
    private func scoreTable(with detector: MOCCADetector, description: TableDataDescription) throws {
        guard inputs.count == 1, let path = inputs.first else {
            throw CommandFailure("a table detector scores one table file at a time; got \(inputs.count) inputs")
        }
        var row = 0
        func lines(_ table: NumericTable) throws -> Data {
            let scores = try detector.score(TableRows(table, scaling: description.scaling, path: path, firstRow: row + 1))
            var text = ""
            for i in 0..<table.rowCount {
                row += 1
                text += (["\(row)", "\(scores.overall[i])"] + scores.perChannel.map { "\($0[i])" }
                         + [scores.overall[i] > detector.threshold ? "1" : "0"]).joined(separator: ",") + "\n"
            }
            return Data(text.utf8)
        }
        func produce(_ append: (Data) throws -> Void) throws {
            try append(Data(((["row", "score"] + detector.channels + ["anomaly"]).joined(separator: ",") + "\n").utf8))
            if try TableFormat(path: path) == .csv {
                var stream = try TableFile.rows(of: path, trained: description, labelColumn: nil)
                while let chunk = try stream.next(maxRows: 16_384) { try append(lines(chunk)) }
            } else {
                try append(lines(TableFile.read(path, options: description.read, trained: description).table))
            }
        }
        if let output {
            try AtomicFile.write(to: URL(fileURLWithPath: output), produce)
        } else {
            try produce { FileHandle.standardOutput.write($0) }
        }
        printError("scored \(row) rows of \(path)")
    }

    /// Scores every frame of each video folder given (its frames sorted by name), from the
    /// clips that contain it. Columns: video, frame (from 0), file, score (the detector's),
    /// one_class, reconstruction and combined (the last three normalised within the video),
    /// then local_reconstruction (normalised) and combined_local (one-class plus it).
    private func scoreVideos(with detector: MOCCADetector, description: VideoDataDescription) throws {
        let videos = try inputs.map { path -> Video in
            let url = URL(fileURLWithPath: path)
            return Video(name: url.lastPathComponent, frames: try VideoLayout.sortedFrames(in: url, video: url.lastPathComponent))
        }
        let clips = try description.clips(of: videos)
        let scores = try detector.frameScores(clips)
        var text = "video,frame,file,score,one_class,reconstruction,combined,local_reconstruction,combined_local\n"
        let oneClass = VideoFrameScores.normalized(scores.oneClass)
        // The columns a detector without a reconstruction channel leaves empty.
        let optional = [scores.reconstruction.map(VideoFrameScores.normalized), scores.combined,
                        scores.localReconstruction.map(VideoFrameScores.normalized), scores.combinedLocal]
        for (v, video) in videos.enumerated() {
            for f in 0..<video.frameCount {
                let fields = [csvField(video.name), "\(f)", csvField(video.frames[f]), "\(scores.overall[v][f])", "\(oneClass[v][f])"]
                    + optional.map { series in series.map { "\($0[v][f])" } ?? "" }
                text += fields.joined(separator: ",") + "\n"
            }
        }
        if let output { try writeAtomically(Data(text.utf8), to: output) } else { print(text, terminator: "") }
        printError("scored \(scores.videos.count) videos, \(videos.map(\.frameCount).reduce(0, +)) frames")
    }

    private func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
