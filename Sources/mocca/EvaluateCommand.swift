import ArgumentParser
import Foundation
import MOCCA
import MOCCACore
import MOCCAData

/// `mocca evaluate`: metrics of a saved detector on a labelled test split.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report AUROC, AUPR, max balanced accuracy and F1-max of a detector, overall and per tap.",
        discussion: "By default the test split of the data set the detector was trained on, with its normal class.")

    @Argument(help: "The detector folder.") var model: String
    @Option(help: "The data set (default: the detector's).") var dataset: DatasetKind?
    @Option(help: "The data set's folder (default: the detector's).") var data: String?
    // Unconditional, so that `-1` is read as the (bad) class it is rather than as a flag.
    @Option(parsing: .unconditional, help: "The normal class (default: the detector's).") var normalClass: String?
    @Option(help: "The label column of a CSV table (detectors trained on tables; default: the one trained with).") var labelColumn: String?
    @Option(help: "Also write the report as JSON to this file.") var json: String?
    @OptionGroup var threads: ThreadOptions
    @Option(help: ArgumentHelp(precisionHelp))
    var precision: Precision = .fp32

    func validate() throws {
        try checkPrecision(precision)
        if let json { try checkWritable(json, option: "--json") }
        if let normalClass, let names = dataset?.classNames { try checkClass(normalClass, in: names) }
    }

    func run() throws {
        try threads.apply()
        let detector = try MOCCADetector.load(from: URL(fileURLWithPath: model))
        detector.scoringPrecision = precision
        let trained = detector.trainingData
        if let table = trained?.table {
            guard dataset == nil || dataset == .table, normalClass == nil else {
                throw CommandFailure("the detector \(model) was trained on a table; evaluate it on a labelled table with --data FILE --label-column NAME")
            }
            let path = data ?? trained?.path ?? ""
            let report = try detector.evaluate(labelledRows(path, detector: detector, description: table, labelColumn: labelColumn))
            print(renderReport(report, title: "\(path):"))
            if let json { try writeAtomically(encodeJSON(ReportFile(report, detector: detector)), to: json) }
            return
        }
        if let video = trained?.video {
            guard dataset == nil || dataset == .video, normalClass == nil else {
                throw CommandFailure("the detector \(model) was trained on videos; evaluate it on videos in ShanghaiTech's layout with --data ROOT")
            }
            let root = data ?? video.root
            let test = try VideoLayout.readShanghaiTech(root: URL(fileURLWithPath: root)).test
            guard !test.isEmpty else { throw CommandFailure("\(root) has no test videos (testing/frames/<video>) to evaluate on") }
            let evaluation = try detector.evaluate(video: video.clips(of: test)).0
            print(renderVideo(evaluation, title: "test videos of \(root):"))
            if let json { try writeAtomically(encodeJSON(evaluation), to: json) }
            return
        }
        if labelColumn != nil { throw CommandFailure("--label-column applies to detectors trained on tables") }
        if let inspection = trained?.inspection {
            guard dataset == nil, data == nil, normalClass == nil else {
                throw CommandFailure("the detector \(model) was trained for inspection on \(inspection.source.path); it is evaluated on that split (--dataset, --data and --normal-class do not apply)")
            }
            let split = try inspection.split()
            let evaluation = try detector.evaluate(inspection: split.test, preprocessing: inspection.preprocessing).0
            print(renderInspection(evaluation, title: "test split of \(split.name) (\(evaluation.normalCount) defect-free, \(evaluation.anomalyCount) defective images):"))
            if let json { try writeAtomically(encodeJSON(evaluation), to: json) }
            return
        }
        guard let kind = dataset ?? trained.flatMap({ DatasetKind(rawValue: $0.dataset) }),
              let path = data ?? trained?.path, let normal = normalClass ?? trained?.normalClass else {
            throw CommandFailure("the detector \(model) does not record its data: give --dataset, --data and --normal-class")
        }
        guard detector.preprocessor != nil else {
            throw CommandFailure("the detector \(model) has no preprocessing constants (it was fitted on tensors); it cannot read images")
        }
        let channels = detector.network.inputShape[0]
        let report: EvaluationReport, normalName: String
        if kind == .imageFolder {
            // Streamed, resized as in training.
            var split = try ImageFolderSplit.load(root: path, normalClass: normal, channels: channels, resize: trained?.resize, requireTest: true)
            split.test?.preprocessor = detector.preprocessor
            guard let test = split.test else { throw CommandFailure("\(path) has no test images to evaluate on") }
            (report, normalName) = (try detector.evaluate(test), split.normalClassName)
        } else {
            let split = try OneClassSplit.load(kind, path: path, normalClass: normal, channels: channels)
            (report, normalName) = (try detector.evaluate(split.test, labels: split.testLabels), split.normalClassName)
        }
        print(renderReport(report, title: "\(kind.rawValue) test split, normal class '\(normalName)':"))
        if let json { try writeAtomically(encodeJSON(ReportFile(report, detector: detector)), to: json) }
    }
}
