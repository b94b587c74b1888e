import ArgumentParser
import Foundation
import MOCCA
import MOCCAData

/// `mocca demo`: a one-class detector on the Fashion-MNIST test set shipped with the tool.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train and evaluate a detector on the embedded Fashion-MNIST data (a few minutes on 2 cores).",
        discussion: """
            The tool ships Fashion-MNIST's 10,000 test images (MIT licence). The demo trains on
            the first 80% of the normal class's images and tests on the remaining 20% together
            with every image of the other nine classes (normal = 0, others = 1).
            """)

    // Unconditional, so that `-1` is read as the (bad) class it is rather than as a flag.
    @Option(parsing: .unconditional, help: "The normal class, by name or index (t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle-boot).")
    var normalClass = "trouser"
    @OptionGroup var method: MethodOptions
    @OptionGroup var threads: ThreadOptions
    @Option(help: "Also save the detector to this folder.") var out: String?
    @Flag(help: "Carry on when a training phase's loss runs away (by default training stops with an error).")
    var allowDivergence = false

    func validate() throws {
        try checkClass(normalClass, in: DatasetKind.fashionMNIST.classNames ?? [])
        let configuration = try method.configuration(defaultNetwork: DatasetKind.fashionMNIST.defaultNetwork)
        if try configuration.network.resolved().inputShape != [1, 28, 28] {
            throw ValidationError("the demo's images are 28x28 grey: use --network mnist-lenet")
        }
        if let out { try checkOutput(out, overwrite: nil) }
    }

    func run() throws {
        try threads.apply()
        let start = Date()
        guard let folder = Bundle.module.path(forResource: "fashion-mnist", ofType: nil) else {
            throw CommandFailure("the embedded Fashion-MNIST data is missing from the tool's resources")
        }
        let all = try IDXReader.load(images: (folder as NSString).appendingPathComponent("t10k-images-idx3-ubyte.gz"),
                                     labels: (folder as NSString).appendingPathComponent("t10k-labels-idx1-ubyte.gz"),
                                     classNames: DatasetKind.fashionMNIST.classNames)
        let normal = try all.classIndex(normalClass)
        let normalIndices = all.labels.indices.filter { all.labels[$0] == normal }
        let cut = normalIndices.count * 4 / 5
        let trainIndices = Set(normalIndices.prefix(cut))
        let train = all.subset(normalIndices.prefix(cut).map { $0 })
        let test = all.subset(all.labels.indices.filter { !trainIndices.contains($0) })
        let split = OneClassSplit(train: train, test: test, normalClass: normal)
        let prepared = try split.prepared()

        let configuration = try method.configuration(defaultNetwork: DatasetKind.fashionMNIST.defaultNetwork)
        print("Fashion-MNIST (embedded test set): normal class '\(split.normalClassName)', \(train.count) training images, \(test.count) test images")
        let detector = try MOCCADetector(configuration: configuration)
        detector.preprocessor = prepared.preprocessor
        detector.trainingData = TrainingDataDescription(dataset: "fashion-mnist-embedded", path: folder, normalClass: split.normalClassName,
                                                        classNames: all.classNames, imageShape: all.imageShape)
        try fit(detector, on: TensorSource(prepared.train), allowDivergence: allowDivergence)
        let report = try detector.evaluate(prepared.test, labels: prepared.testLabels)
        print(renderReport(report, title: String(format: "results after %.0f s:", Date().timeIntervalSince(start))))
        if let out {
            try saveDetector(detector, to: out)
            print("saved the detector to \(out)")
        }
    }
}
