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
            (normal class = 0, all others = 1).
            """)

    @OptionGroup var data: DataOptions
    @OptionGroup var method: MethodOptions
    @OptionGroup var threads: ThreadOptions
    @Option(help: "The folder to write the detector to (manifest.json + weights.safetensors).")
    var out: String
    @Flag(help: "Replace an existing detector at --out.")
    var overwrite = false
    @Flag(inversion: .prefixedNo, help: "Evaluate on the test split after training.")
    var evaluate = true
    @Option(help: "Also write the evaluation as JSON to this file.")
    var report: String?

    func run() throws {
        try threads.apply()
        try checkOutput(out, overwrite: overwrite)
        let configuration = try method.configuration(defaultNetwork: data.dataset.defaultNetwork)
        let (detector, prepared) = try trainDetector(data: data, configuration: configuration)
        try detector.save(to: URL(fileURLWithPath: out))
        print("saved the detector to \(out) (threshold \(detector.threshold))")
        guard evaluate else { return }
        let evaluation = try detector.evaluate(prepared.test, labels: prepared.testLabels)
        print(renderReport(evaluation, title: "test split, normal class '\(data.normalClass)':"))
        if let report { try writeAtomically(encodeJSON(evaluation), to: report) }
    }
}

/// Loads a split, trains a detector on it with a live progress line, and returns both.
func trainDetector(data: DataOptions, configuration: MOCCAConfiguration) throws -> (MOCCADetector, PreparedSplit) {
    let loadStart = Date()
    let split = try OneClassSplit.load(data.dataset, path: data.data, normalClass: data.normalClass, channels: data.channels)
    let prepared = try split.prepared()
    printError(String(format: "loaded %d normal training images of '%@' and %d test images in %.1f s",
                      split.train.count, split.normalClassName, split.test.count, Date().timeIntervalSince(loadStart)))
    let detector = try MOCCADetector(configuration: configuration)
    detector.preprocessor = prepared.preprocessor
    // An absolute path, so that `mocca evaluate` finds the data from any folder.
    detector.trainingData = split.description(dataset: data.dataset, path: URL(fileURLWithPath: data.data).standardizedFileURL.path)
    let progress = ProgressLine()
    try detector.fit(normal: prepared.train, progress: progress.report)
    return (detector, prepared)
}
