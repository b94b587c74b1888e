import ArgumentParser
import Foundation
import MOCCA
import MOCCACore

extension DatasetKind: ExpressibleByArgument {}
extension MOCCAConfiguration.Model: ExpressibleByArgument {}
extension MOCCAConfiguration.Boundary: ExpressibleByArgument {}
extension MOCCAConfiguration.Fusion: ExpressibleByArgument {}
extension MOCCAConfiguration.TapScore: ExpressibleByArgument {}

/// Where the data is and which class is normal.
struct DataOptions: ParsableArguments {
    @Option(help: "The data set: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dataset: DatasetKind
    @Option(help: "The data set's folder.")
    var data: String
    @Option(help: "The normal class, by name or index.")
    var normalClass: String
    @Option(help: "Channels to decode image-folder images to (1 grey, 3 RGB).")
    var channels = 3

    func validate() throws {
        guard channels == 1 || channels == 3 else { throw ValidationError("--channels must be 1 or 3, got \(channels)") }
    }
}

/// Every hyperparameter of the method.
struct MethodOptions: ParsableArguments {
    @Option(help: "The network: \(MOCCAConfiguration.Model.allCases.map(\.rawValue).joined(separator: ", ")) (default: the data set's).")
    var model: MOCCAConfiguration.Model?
    @Option(help: "Code length, a multiple of 16 (default: 128 for cifar10-lenet, 32 for mnist-lenet).")
    var codeLength: Int?
    @Option(help: "Comma-separated taps (default: all of the model's, e.g. conv1,conv2,conv3,code).")
    var taps: String?
    @Option(help: "Boundary: hard or soft.")
    var boundary: MOCCAConfiguration.Boundary = .hard
    @Option(help: "ν in (0, 1): the soft boundary's outlier fraction and the default threshold quantile.")
    var nu = 0.1
    @Option(help: "One-class epochs before the soft boundary's radii move.")
    var warmUp = 3
    @Option(help: "Autoencoder (phase 1) epochs.")
    var aeEpochs = 20
    @Option(help: "Autoencoder learning rate.")
    var aeLr: Float = 1e-3
    @Option(help: "Comma-separated autoencoder epochs at which the learning rate drops ×0.1.")
    var aeMilestones = ""
    @Option(help: "One-class (phase 2) epochs.")
    var ocEpochs = 10
    @Option(help: "One-class learning rate.")
    var ocLr: Float = 1e-4
    @Option(help: "Comma-separated one-class epochs at which the learning rate drops ×0.1.")
    var ocMilestones = ""
    @Option(help: "Adam's L2 weight decay (both phases).")
    var weightDecay: Float = 0.5e-6
    @Option(help: "Mini-batch size.")
    var batchSize = 64
    @Option(help: "Seed for every random choice.")
    var seed: UInt64 = 0
    @Option(help: "Score fusion: mean (the paper's) or standardized.")
    var fusion: MOCCAConfiguration.Fusion = .mean
    @Flag(help: "Add the autoencoder's reconstruction error as a score channel.")
    var reconstruction = false
    @Option(help: "Tap score: centroid (the paper's distance to the tap's centroid) or nearest-neighbor (distance to the k-th nearest normal training representation, fused after standardisation).")
    var tapScore: MOCCAConfiguration.TapScore = .centroid
    @Option(help: "k, the neighbour that --tap-score nearest-neighbor measures the distance to.")
    var neighbors = 1

    /// The configuration these options describe, for a data set whose default model is `defaultModel`.
    func configuration(defaultModel: MOCCAConfiguration.Model) throws -> MOCCAConfiguration {
        var c = MOCCAConfiguration()
        c.model = model ?? defaultModel
        c.codeLength = codeLength ?? (c.model == .mnistLeNet ? 32 : 128)
        c.taps = taps.map(splitList) ?? c.model.tapNames
        c.boundary = boundary
        c.nu = nu
        c.warmUpEpochs = warmUp
        c.autoencoderEpochs = aeEpochs
        c.autoencoderLearningRate = aeLr
        c.autoencoderMilestones = try integers(aeMilestones, "--ae-milestones")
        c.oneClassEpochs = ocEpochs
        c.oneClassLearningRate = ocLr
        c.oneClassMilestones = try integers(ocMilestones, "--oc-milestones")
        c.weightDecay = weightDecay
        c.batchSize = batchSize
        c.seed = seed
        c.fusion = fusion
        c.reconstructionChannel = reconstruction
        c.tapScore = tapScore
        c.neighbors = neighbors
        return c
    }
}

/// `--threads`, applied to every backend.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for every backend (default: MOCCA_THREADS, else all cores).")
    var threads: Int?

    func apply() throws {
        if let threads {
            guard threads > 0 else { throw ValidationError("--threads must be positive, got \(threads)") }
            Threads.count = threads
        }
    }
}

func splitList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

func integers(_ text: String, _ option: String) throws -> [Int] {
    try splitList(text).map { item in
        guard let value = Int(item) else { throw ValidationError("\(option): '\(item)' is not an integer") }
        return value
    }
}

/// Writes to standard error (progress and diagnostics stay out of piped results).
func printError(_ text: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((text + terminator).utf8))
}
