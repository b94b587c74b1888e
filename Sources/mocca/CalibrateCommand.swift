import ArgumentParser
import Foundation
import MOCCA
import MOCCACore
import MOCCAData

/// `mocca calibrate`: sets a saved detector's decision threshold by another rule.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set a detector's decision threshold: a contamination rate, a target false positive rate on held-out normal images, or a value.",
        discussion: "By default a detector flags scores above the (1 - nu) quantile of its training scores. Give exactly one rule; the detector is rewritten in place (atomically).")

    @Argument(help: "The detector folder.") var model: String
    @Option(help: "Expected fraction of anomalies in data like the training data: the (1 - rate) quantile of the training scores.")
    var contamination: Double?
    @Option(help: "Target false positive rate on held-out normal images (give them with --normals).")
    var fpr: Double?
    @Option(parsing: .upToNextOption, help: "Held-out normal images (files or folders) for --fpr.")
    var normals: [String] = []
    @Option(help: "A fixed threshold value.") var value: Float?
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard [contamination != nil, fpr != nil, value != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --contamination, --fpr and --value")
        }
        if fpr != nil && normals.isEmpty { throw ValidationError("--fpr needs held-out normal images: --normals PATH...") }
    }

    func run() throws {
        try threads.apply()
        let url = URL(fileURLWithPath: model)
        let detector = try MOCCADetector.load(from: url)
        if let contamination {
            try detector.calibrate(.contamination(rate: contamination))
        } else if let fpr {
            let images = try loadImages(normals, for: detector).images
            try detector.calibrate(.falsePositiveRate(rate: fpr), heldOutNormal: TensorSource(images))
        } else if let value {
            try detector.calibrate(.value(value))
        }
        try detector.save(to: url)
        print("threshold \(detector.threshold): \(detector.thresholdRule)")
    }
}

/// Decodes and preprocesses image files or folders for a detector, checking their size.
func loadImages(_ inputs: [String], for detector: MOCCADetector) throws -> (files: [String], images: Tensor) {
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
    let dataset = try ImageDataset(imageShape: shape, pixels: pixels, labels: Array(repeating: 0, count: files.count),
                               classNames: ["input"], sources: files)
    return (files, preprocessor.apply(dataset))
}

/// The image files at `path`: itself, or every image below it, sorted.
func imageFiles(_ path: String) throws -> [String] {
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
