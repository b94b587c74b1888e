import ArgumentParser
import Foundation
import MOCCA

/// `mocca train`: fits a detector on a data set's normal class and saves it.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a MOCCA detector on the normal class of a data set and save it.",
        discussion: """
            Trains the autoencoder (phase 1), then the encoder's one-class objective on the
            chosen taps (phase 2), on the normal class's training images only. Unless
            --no-evaluate is given, it then reports AUROC and friends on the test split
            (normal class = 0, all others = 1). Options, output paths and the data are checked
            before the first epoch.
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup(title: "Industrial inspection (--dataset mvtec, mtd, folder)") var inspection: InspectionOptions
    @OptionGroup(title: "Tables (--dataset table)") var table: TableOptions
    @OptionGroup(title: "Videos (--dataset video)") var video: VideoOptions
    @OptionGroup var method: MethodOptions
    @OptionGroup var threads: ThreadOptions
    @Option(help: "The folder to write the detector to (manifest.json + weights.safetensors).")
    var out: String
    @Flag(help: "Replace an existing detector at --out (other files in its folder are kept).")
    var overwrite = false
    @Flag(inversion: .prefixedNo, help: "Evaluate on the test split after training.")
    var evaluate = true
    @Option(help: "Also write the evaluation as JSON to this file.")
    var report: String?
    @Flag(help: "Carry on when a training phase's loss runs away (by default training stops with an error).")
    var allowDivergence = false

    func validate() throws {
        if data.dataset == .table {
            // The feature count is only known once the file is read; any count checks the rest.
            _ = try method.configuration(defaultNetwork: data.dataset.defaultNetwork, networkFields: table.networkFields(features: 1))
            try checkOutput(out, overwrite: overwrite)
            if let report {
                guard table.test != nil else { throw ValidationError("--report \(report) needs an evaluation: give --test with a labelled table") }
                try checkWritable(report, option: "--report")
            }
            return
        }
        if data.dataset == .video {
            _ = try method.configuration(defaultNetwork: data.dataset.defaultNetwork, networkFields: video.networkFields(channels: data.channelCount ?? 1))
            try checkOutput(out, overwrite: overwrite)
            if let report { try checkWritable(report, option: "--report") }
            return
        }
        if video.isSet {
            throw ValidationError("--frame-size, --clip-length, --clips-per-epoch, --train-stride and --remove-background apply to --dataset video")
        }
        if table.isSet {
            throw ValidationError("--label-column, --features, --exclude, --impute, --scaling, --arrays, --hidden-sizes, --batch-norm and --test apply to --dataset table")
        }
        let configuration = try method.configuration(defaultNetwork: data.dataset.defaultNetwork)
        if data.dataset.isInspection {
            _ = try fitted(configuration, to: inspection.preprocessing(for: data), inspection: inspection)
        } else if inspection.patchSize != nil || inspection.scoringStride != nil || inspection.samplesPerEpoch != nil || inspection.rotation != nil || inspection.normalization != nil || inspection.skipBad {
            throw ValidationError("--patch-size, --scoring-stride, --samples-per-epoch, --rotation, --normalization and --skip-bad apply to inspection data sets (--dataset mvtec, mtd, folder)")
        }
        try data.checkInput(of: configuration)
        try checkOutput(out, overwrite: overwrite)
        if let report {
            guard evaluate else { throw ValidationError("--report \(report) needs the evaluation: drop --no-evaluate or --report") }
            try checkWritable(report, option: "--report")
        }
        let testFolder = (data.data as NSString).appendingPathComponent("test")
        if evaluate && data.dataset == .folder && data.abnormal == nil {
            throw ValidationError("--dataset folder has no defective images to evaluate on without --abnormal; add it or pass --no-evaluate")
        }
        if evaluate && data.dataset == .imageFolder && !FileManager.default.fileExists(atPath: testFolder) {
            throw ValidationError("--data \(data.data) has no test split \(testFolder) (<class>/*.png) to evaluate on; add it or pass --no-evaluate")
        }
    }

    func run() throws {
        try threads.apply()
        if data.dataset == .table { return try runTable() }
        if data.dataset == .video { return try runVideo() }
        let configuration = try method.configuration(defaultNetwork: data.dataset.defaultNetwork)
        if data.dataset.isInspection { return try runInspection(configuration) }
        let (detector, test) = try trainDetector(data: data, configuration: configuration, evaluate: evaluate,
                                                 allowDivergence: allowDivergence)
        try saveDetector(detector, to: out)
        print("saved the detector to \(out) (threshold \(detector.threshold))")
        guard evaluate, let test else { return }
        let evaluation = try detector.evaluate(test)
        print(renderReport(evaluation, title: "test split, normal class '\(data.normalClassName)':"))
        if let report { try writeAtomically(encodeJSON(ReportFile(evaluation, detector: detector)), to: report) }
    }
}

extension Train {
    /// Trains on the training videos' clips; evaluates frame by frame on the test videos.
    func runVideo() throws {
        let (detector, test) = try trainVideoDetector(data: data, video: video, method: method, allowDivergence: allowDivergence)
        try saveDetector(detector, to: out)
        print("saved the detector to \(out) (threshold \(detector.threshold))")
        guard evaluate, let description = detector.trainingData?.video else { return }
        guard !test.isEmpty else { return printError("no test videos (testing/frames): not evaluated") }
        let evaluation = try detector.evaluate(video: description.clips(of: test)).0
        print(renderVideo(evaluation, title: "test videos of \(data.data):"))
        if let report { try writeAtomically(encodeJSON(evaluation), to: report) }
    }

    /// Trains on a table's normal rows; evaluates on `--test` where given.
    func runTable() throws {
        let detector = try trainTableDetector(data: data, table: table, method: method, allowDivergence: allowDivergence)
        try saveDetector(detector, to: out)
        print("saved the detector to \(out) (threshold \(detector.threshold))")
        guard evaluate, let test = table.test, let description = detector.trainingData?.table else {
            if evaluate { printError("no --test table given: not evaluated (see `mocca evaluate \(out) --data TABLE --label-column NAME`)") }
            return
        }
        let evaluation = try detector.evaluate(labelledRows(test, detector: detector, description: description, labelColumn: table.labelColumn))
        print(renderReport(evaluation, title: "\(test):"))
        if let report { try writeAtomically(encodeJSON(ReportFile(evaluation, detector: detector)), to: report) }
    }

    /// Trains on an inspection data set's defect-free images; reports validation (where it
    /// holds defective images) and test at image level and, with masks, at pixel level.
    func runInspection(_ configuration: MOCCAConfiguration) throws {
        let (detector, split) = try trainInspectionDetector(data: data, inspection: inspection, configuration: configuration,
                                                           evaluate: evaluate, allowDivergence: allowDivergence)
        try saveDetector(detector, to: out)
        print("saved the detector to \(out) (image threshold \(detector.threshold))")
        guard evaluate, let preprocessing = detector.trainingData?.inspection?.preprocessing else { return }
        var reports: [String: InspectionEvaluation] = [:]
        for (name, images) in [("validation", split.validation), ("test", split.test)] where images.contains(where: \.isAnomalous) && images.contains(where: { !$0.isAnomalous }) {
            let evaluation = try detector.evaluate(inspection: images, preprocessing: preprocessing).0
            print(renderInspection(evaluation, title: "\(name) split of \(split.name) (\(evaluation.normalCount) defect-free, \(evaluation.anomalyCount) defective images):"))
            reports[name] = evaluation
        }
        if let report { try writeAtomically(encodeJSON(reports), to: report) }
    }
}

/// Loads a split, checks that its test split can be evaluated (when `evaluate`), trains a
/// detector on it with a live progress line, and returns it with the test samples (nil
/// without `evaluate`).
///
/// An image folder is streamed: its files are listed, decoded (and resized with
/// `--image-size`) a batch at a time, so it may be larger than memory. The other data sets
/// are decoded into memory, the normal class's training images only.
func trainDetector(data: DataOptions, configuration: MOCCAConfiguration, evaluate: Bool = true,
                   allowDivergence: Bool = false) throws -> (MOCCADetector, (any SampleSource)?) {
    let loadStart = Date()
    let detector = try MOCCADetector(configuration: configuration)
    // An absolute path, so that `mocca evaluate` finds the data from any folder.
    let path = URL(fileURLWithPath: data.data).standardizedFileURL.path
    let train: any SampleSource, test: (any SampleSource)?
    if data.dataset == .imageFolder {
        var split = try ImageFolderSplit.load(root: data.data, normalClass: data.normalClassName, channels: data.channels,
                                              resize: try data.resize(), requireTest: evaluate)
        detector.preprocessor = try split.fitPreprocessor()
        detector.trainingData = TrainingDataDescription(
            dataset: data.dataset.rawValue, path: path, normalClass: split.normalClassName, classNames: split.classNames,
            imageShape: split.train.sampleShape, resize: try data.resize())
        (train, test) = (split.train, evaluate ? split.test : nil)
        printError(String(format: "found %d normal training images of '%@' and %d test images, read a batch at a time; preprocessing fitted in %.1f s",
                          split.train.count, split.normalClassName, split.test?.count ?? 0, Date().timeIntervalSince(loadStart)))
    } else {
        let split = try OneClassSplit.load(data.dataset, path: data.data, normalClass: data.normalClassName, channels: data.channels)
        if evaluate { try checkBothClasses(split, data: data) }
        let prepared = try split.prepared()
        detector.preprocessor = prepared.preprocessor
        detector.trainingData = split.description(dataset: data.dataset, path: path)
        (train, test) = (try TensorSource(prepared.train), evaluate ? try prepared.testSource : nil)
        printError(String(format: "loaded %d normal training images of '%@' and %d test images in %.1f s",
                          split.train.count, split.normalClassName, split.test.count, Date().timeIntervalSince(loadStart)))
    }
    try fit(detector, on: train, allowDivergence: allowDivergence)
    return (detector, test)
}

/// Checks that the test split holds normal and anomalous images: without both, the
/// evaluation after training could only fail.
/// - Throws: `CommandFailure` naming the test split and the class missing.
private func checkBothClasses(_ split: OneClassSplit, data: DataOptions) throws {
    let labels = Set(split.testLabels)
    let missing = !labels.contains(0) ? "no images of the normal class '\(split.normalClassName)'"
        : !labels.contains(1) ? "no images of any other class" : nil
    if let missing {
        throw CommandFailure("the test split of \(data.data) has \(missing); the evaluation needs both normal and anomalous test images: add them, or pass --no-evaluate")
    }
}
