import Foundation
import MOCCA
import MOCCAData

/// The image files named by `inputs`: each file as given, and every image below each
/// folder (recursively, hidden files and folders skipped), sorted within the folder.
/// - Throws: `CommandFailure` for an input that does not exist or cannot be listed, or
///   when no image is found at all.
func imageFiles(_ inputs: [String]) throws -> [String] {
    let files: [String]
    do { files = try inputs.flatMap { try ImageFolder.imageFiles(under: $0) } } catch { throw CommandFailure("\(error)") }
    guard !files.isEmpty else {
        throw CommandFailure("no .\(ImageFolder.extensions.sorted().joined(separator: ", .")) files in \(inputs.joined(separator: ", "))")
    }
    return files
}

/// Files decoded per batch when scoring: enough for the detector's forward passes to run
/// full, few enough that memory does not grow with the number of files.
let imageFileBatch = 256

/// Decodes `files` a batch at a time and scores each batch with `detector`'s own
/// preprocessing: `scored` gets each batch's readable files and their scores, `failed`
/// each file that cannot be decoded or has the wrong size, with a message naming it (throw
/// from `failed` to stop).
/// - Throws: `CommandFailure` when the detector cannot read raw images, and the
///   detector's errors (a non-finite score names the image).
func scoreImageFiles(_ files: [String], with detector: MOCCADetector,
                     scored: ([String], Scores) throws -> Void, failed: (String, String) throws -> Void) throws {
    if let inspection = detector.trainingData?.inspection {
        return try scoreInspectionFiles(files, with: detector, preprocessing: inspection.preprocessing, scored: scored, failed: failed)
    }
    guard detector.preprocessor != nil else {
        throw CommandFailure("the detector has no preprocessing constants (it was fitted on tensors); it cannot read image files")
    }
    let shape = detector.network.inputShape
    // Resized as in training, when the detector was trained on resized images.
    let resize = detector.trainingData?.resize
    for start in stride(from: 0, to: files.count, by: imageFileBatch) {
        var readable: [String] = [], pixels: [UInt8] = []
        for file in files[start..<min(start + imageFileBatch, files.count)] {
            do {
                let image = try ImageDecoder.decode(path: file, channels: shape[0], size: resize.map { ($0.height, $0.width) },
                                                    filter: resize?.filter ?? .area)
                guard [image.channels, image.height, image.width] == shape else {
                    throw DataError.malformed(path: file, message: "the image is \(image.width)x\(image.height); the detector expects \(shape[2])x\(shape[1])")
                }
                pixels += image.pixels
                readable.append(file)
            } catch {
                // DataError names the file itself; anything else gets the name added.
                let message = "\(error)"
                try failed(file, message.contains(file) ? message : "\(file): \(message)")
            }
        }
        guard !readable.isEmpty else { continue }
        let images = try ImageDataset(imageShape: shape, pixels: pixels, labels: Array(repeating: 0, count: readable.count),
                                      classNames: ["input"], sources: readable)
        try scored(readable, detector.score(images))
    }
}

/// ``scoreImageFiles(_:with:scored:failed:)`` for an inspection detector: each file is
/// resized and cut into patches as in training, and scores as its most anomalous patch.
private func scoreInspectionFiles(_ files: [String], with detector: MOCCADetector, preprocessing: InspectionPreprocessing,
                                  scored: ([String], Scores) throws -> Void, failed: (String, String) throws -> Void) throws {
    // Fewer images per batch than whole-image scoring: each is many patches.
    let perBatch = max(1, imageFileBatch / preprocessing.scoringOrigins.count)
    for start in stride(from: 0, to: files.count, by: perBatch) {
        let candidates = files[start..<min(start + perBatch, files.count)].map { InspectionImage(path: $0) }
        let store = InspectionImageStore(candidates, preprocessing: preprocessing)
        let bad = Dictionary(store.problems().map { ($0.index, $0.message) }, uniquingKeysWith: { first, _ in first })
        for (index, message) in bad.sorted(by: { $0.key < $1.key }) {
            try failed(candidates[index].path, message.contains(candidates[index].path) ? message : "\(candidates[index].path): \(message)")
        }
        let readable = candidates.indices.filter { bad[$0] == nil }.map { candidates[$0] }
        guard !readable.isEmpty else { continue }
        let scores = try detector.score(InspectionPatches(InspectionImageStore(readable, preprocessing: preprocessing)))
        try scored(readable.map(\.path), Scores(overall: scores.images, channels: scores.channels, perChannel: scores.imagesPerChannel))
    }
}
