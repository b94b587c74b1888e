import ArgumentParser
import Foundation
import MOCCA

/// `mocca evaluate`: metrics of a saved detector on a labelled test split.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report AUROC, AUPR, max balanced accuracy and F1-max of a detector, overall and per tap.",
        discussion: "By default the test split of the data set the detector was trained on, with its normal class.")

    @Argument(help: "The detector folder.") var model: String
    @Option(help: "The data set (default: the detector's).") var dataset: DatasetKind?
    @Option(help: "The data set's folder (default: the detector's).") var data: String?
    @Option(help: "The normal class (default: the detector's).") var normalClass: String?
    @Option(help: "Also write the report as JSON to this file.") var json: String?
    @OptionGroup var threads: ThreadOptions

    func run() throws {
        try threads.apply()
        let detector = try MOCCADetector.load(from: URL(fileURLWithPath: model))
        let trained = detector.trainingData
        guard let kind = dataset ?? trained.flatMap({ DatasetKind(rawValue: $0.dataset) }),
              let path = data ?? trained?.path, let normal = normalClass ?? trained?.normalClass else {
            throw ValidationError("the detector does not record its data: give --dataset, --data and --normal-class")
        }
        guard detector.preprocessor != nil else {
            throw ValidationError("the detector has no preprocessing constants; it cannot read raw images")
        }
        let channels = detector.network.inputShape[0]
        let split = try OneClassSplit.load(kind, path: path, normalClass: normal, channels: channels)
        let report = try detector.evaluate(split.test, labels: split.testLabels)
        print(renderReport(report, title: "\(kind.rawValue) test split, normal class '\(split.normalClassName)':"))
        if let json { try writeAtomically(encodeJSON(report), to: json) }
    }
}
