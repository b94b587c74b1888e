import ArgumentParser
import Foundation
import MOCCA

/// `mocca calibrate`: sets a saved detector's decision threshold by another rule.
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Set a detector's decision threshold: a contamination rate, a target false positive rate on held-out normal images, or a value.",
        discussion: "By default a detector flags scores above the (1 - nu) quantile of its training scores. Give exactly one rule; the detector is rewritten in place (atomically), and left as it was when the rule is rejected.")

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
        // The detector is rewritten through a staging folder beside it.
        try checkWritable(model, option: "the detector folder", isFolder: true)
    }

    func run() throws {
        try threads.apply()
        let url = URL(fileURLWithPath: model)
        let detector = try MOCCADetector.load(from: url)
        // The rules' ranges are the library's to check; the message says which detector
        // was left as it was.
        do {
            if let contamination {
                try detector.calibrate(.contamination(rate: contamination))
            } else if let fpr {
                var scores: [Float] = []
                try scoreImageFiles(imageFiles(normals), with: detector, scored: { scores += $1.overall },
                                    failed: { _, message in throw CommandFailure(message) })
                try detector.setThreshold(.falsePositiveRate(rate: fpr), referenceScores: scores)
            } else if let value {
                try detector.calibrate(.value(value))
            }
        } catch {
            throw CommandFailure("cannot calibrate the detector \(model), left unchanged: \(error)")
        }
        try saveDetector(detector, to: model)
        print("threshold \(detector.threshold): \(detector.thresholdRule)")
    }
}
