import ArgumentParser
import Foundation
import MOCCA
import MOCCAData

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
        guard let preprocessor = detector.preprocessor else {
            throw ValidationError("the detector has no preprocessing constants; it cannot read raw images")
        }
        let files = try inputs.flatMap(imageFiles)
        guard !files.isEmpty else { throw ValidationError("no .jpg, .jpeg or .png files in \(inputs.joined(separator: ", "))") }
        let shape = detector.network.inputShape
        var pixels: [UInt8] = []
        for file in files {
            let image = try ImageDecoder.decode(path: file, channels: shape[0])
            guard [image.channels, image.height, image.width] == shape else {
                throw DataError.malformed(path: file, message: "image is \(image.width)x\(image.height); the detector expects \(shape[2])x\(shape[1])")
            }
            pixels += image.pixels
        }
        let dataset = ImageDataset(imageShape: shape, pixels: pixels, labels: Array(repeating: 0, count: files.count),
                                   classNames: ["input"], sources: files)
        let scores = try detector.score(preprocessor.apply(dataset))
        var csv = (["path", "score"] + scores.channels + ["anomaly"]).joined(separator: ",") + "\n"
        for (i, file) in files.enumerated() {
            let fields = [csvField(file), "\(scores.overall[i])"] + scores.perChannel.map { "\($0[i])" }
                + [scores.overall[i] > detector.threshold ? "1" : "0"]
            csv += fields.joined(separator: ",") + "\n"
        }
        if let output { try writeAtomically(Data(csv.utf8), to: output) } else { print(csv, terminator: "") }
    }

    /// The image files at `path`: itself, or every image below it, sorted.
    private func imageFiles(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw DataError.missing(path: path, expected: "an image file or a folder of images")
        }
        guard isDirectory.boolValue else { return [path] }
        guard let walker = FileManager.default.enumerator(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "cannot list the folder")
        }
        return walker.compactMap { $0 as? String }
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted().map { (path as NSString).appendingPathComponent($0) }
    }

    private func csvField(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }
}
