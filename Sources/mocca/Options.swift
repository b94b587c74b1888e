import ArgumentParser
import Foundation
import MOCCA
import MOCCACore
import MOCCAData
import MOCCAModels

extension DatasetKind: ExpressibleByArgument {}
extension MOCCAConfiguration.Recipe: ExpressibleByArgument {}
extension MOCCAConfiguration.Boundary: ExpressibleByArgument {}
extension MOCCAConfiguration.Fusion: ExpressibleByArgument {}
extension MOCCAConfiguration.TapScore: ExpressibleByArgument {}
extension ImageResizer.Filter: ExpressibleByArgument {}

/// Where the data is and which class is normal.
struct DataOptions: ParsableArguments {
    @Option(help: "The data set: \(DatasetKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var dataset: DatasetKind
    @Option(help: "The data set's folder.")
    var data: String
    // Unconditional, so that `-1` is read as the (bad) class it is rather than as a flag.
    @Option(parsing: .unconditional, help: "The normal class, by name or index (classification data sets; inspection data sets train on their defect-free images).")
    var normalClass: String?
    @Option(name: .customLong("channels"), help: "Channels to decode images to (1 grey, 3 RGB) (default: 1 for mtd, else 3).")
    var channelCount: Int?
    @Option(help: "Resize images to H or HxW pixels as they are decoded (image folders; inspection data sets take one side S, default 128 for objects, 512 for MVTec AD textures, 256 for mtd).")
    var imageSize: String?
    @Option(help: "The MVTec AD category (--dataset mvtec).")
    var category: String?
    @Option(help: "The folder of defective images (--dataset folder; sub-folders are defect types).")
    var abnormal: String?
    @Option(help: "The folder of masks (--dataset folder; <name>.png or <name>_mask.png).")
    var masks: String?

    /// Channels decoded to.
    var channels: Int { channelCount ?? (dataset == .mtd ? 1 : 3) }

    /// The normal class, which classification data sets require (checked in ``validate()``).
    var normalClassName: String { normalClass ?? "" }
    @Option(help: "The resize filter: area (the area-weighted mean) or bilinear (antialiased).")
    var resizeFilter: ImageResizer.Filter = .area

    /// The resize `--image-size` asks for, if any.
    func resize() throws -> ImageResize? {
        do { return try imageSize.map { try ImageResize(parsing: $0, filter: resizeFilter) } } catch { throw ValidationError("\(error)") }
    }

    /// Checks, before any image is read, that the images will have the network's input shape
    /// where that can be known.
    func checkInput(of configuration: MOCCAConfiguration) throws {
        guard dataset == .imageFolder else { return }
        let channels = self.channels
        let shape = try configuration.network.resolved().inputShape
        guard shape.count == 3 else {
            throw ValidationError("the \(configuration.network.name) network takes samples of shape \(shape), not images")
        }
        if shape[0] != channels {
            throw ValidationError("the \(configuration.network.name) network takes \(shape[0])-channel images; pass --channels \(shape[0])")
        }
        if let resize = try resize(), [resize.height, resize.width] != Array(shape.dropFirst()) {
            throw ValidationError("--image-size \(imageSize ?? ""): the \(configuration.network.name) network takes \(shape[2])x\(shape[1]) images; pass --image-size \(shape[1] == shape[2] ? "\(shape[1])" : "\(shape[1])x\(shape[2])")")
        }
    }

    func validate() throws {
        guard channels == 1 || channels == 3 else { throw ValidationError("--channels must be 1 or 3, got \(channels)") }
        if imageSize != nil, dataset != .imageFolder, !dataset.isInspection {
            throw ValidationError("--image-size applies to image folders and inspection data sets; \(dataset.rawValue) images have a fixed size")
        }
        if dataset == .mvtec, category == nil { throw ValidationError("--dataset mvtec needs --category (bottle, carpet, ...)") }
        if category != nil, dataset != .mvtec { throw ValidationError("--category applies to --dataset mvtec") }
        if (abnormal != nil || masks != nil), dataset != .folder { throw ValidationError("--abnormal and --masks apply to --dataset folder") }
        if masks != nil, abnormal == nil { throw ValidationError("--masks needs --abnormal: masks mark defects in the defective images") }
        if dataset == .table {
            if normalClass != nil { throw ValidationError("--normal-class does not apply to tables: every row is normal unless --label-column marks it") }
            if channelCount != nil || imageSize != nil { throw ValidationError("--channels and --image-size apply to images, not tables") }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw ValidationError("--data \(data): no such file (expected a table: .csv, .tsv, .npy or .npz)")
            }
            do { _ = try TableFormat(path: data) } catch { throw ValidationError("--data \(error)") }
            return
        }
        if dataset == .video {
            if normalClass != nil { throw ValidationError("--normal-class does not apply to videos: the training videos are normal") }
            if imageSize != nil { throw ValidationError("--image-size does not apply to videos; use --frame-size HxW") }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ValidationError("--data \(data): no such folder (expected videos in ShanghaiTech's layout: training/frames/<video>/*.jpg)")
            }
            return
        }
        if dataset.isInspection {
            if normalClass != nil { throw ValidationError("--normal-class does not apply to \(dataset.rawValue): its training images are the defect-free ones") }
            if let imageSize, Int(imageSize) == nil { throw ValidationError("--image-size \(imageSize): inspection images are square; give one side in pixels") }
        } else if normalClass == nil {
            throw ValidationError("--dataset \(dataset.rawValue) needs --normal-class")
        }
        _ = try resize()
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: data, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--data \(data): no such folder (expected the \(dataset.rawValue) data set)")
        }
        // An image folder's classes are its training sub-folders; the others' are fixed.
        let trainFolder = (data as NSString).appendingPathComponent("train")
        let names = try dataset.classNames ?? (dataset == .imageFolder && FileManager.default.fileExists(atPath: trainFolder) ? ImageFolder.subfolders(of: trainFolder) : [])
        if let normalClass, !names.isEmpty { try checkClass(normalClass, in: names) }
    }
}

/// Checks that `name` is one of `names` or an index into them.
/// - Throws: `ValidationError` naming the option, the index range and the names.
func checkClass(_ name: String, in names: [String], option: String = "--normal-class") throws {
    do { _ = try ImageDataset.classIndex(name, in: names) } catch {
        throw ValidationError("\(option): '\(name)' is not a class index 0...\(names.count - 1) or a class name (\(names.joined(separator: ", ")))")
    }
}

/// Every hyperparameter of the method.
struct MethodOptions: ParsableArguments {
    @Option(help: "default (each tap scored by its nearest normal training representation, channels standardised; best measured) or paper (the paper's centroid distances, plain mean); `mocca benchmark` defaults to paper.")
    var recipe: MOCCAConfiguration.Recipe?
    @Option(name: [.customLong("network"), .customLong("model")],
            help: "The network: \(NetworkRegistry.available.map(\.name).joined(separator: ", ")) (default: the data set's).")
    var network: String?
    @Option(help: "Code length (default: the network's own, 128 for cifar10-lenet, 32 for mnist-lenet).")
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
    @Option(help: "Score fusion: mean (the paper's) or standardized (default: the recipe's).")
    var fusion: MOCCAConfiguration.Fusion?
    @Flag(help: "Add the autoencoder's reconstruction error as a score channel.")
    var reconstruction = false
    @Option(help: "Tap score: centroid (the paper's squared distance to the tap's centroid), centroid-euclidean (the official MVTec AD code's unsquared distance) or nearest-neighbor (distance to the k-th nearest normal training representation, fused after standardisation) (default: the recipe's).")
    var tapScore: MOCCAConfiguration.TapScore?
    @Option(help: "k, the neighbour that --tap-score nearest-neighbor measures the distance to.")
    var neighbors = 1
    @Option(help: "Keep at most this many training representations per tap for --tap-score nearest-neighbor, chosen by a seeded farthest-point coreset (default: all).")
    var references: Int?
    @Flag(help: "End each phase with the network of its lowest-loss epoch, as the official MVTec AD code does (default: its last epoch).")
    var keepBestEpoch = false
    @Flag(help: "Train end to end in phase 2, as the paper's video model does: the one-class loss plus the reconstruction loss, every parameter (default: the encoder alone, towards the centroids).")
    var endToEnd = false
    @Flag(help: "Give each tap a trainable selector head (the reference's MVTec AD selectors; per time step before the LSTM for video-c3d). Networks: mvtec-resnet, video-c3d.")
    var selectors = false
    @Option(help: ArgumentHelp(precisionHelp + " Recorded in the detector; the fit scores in it too."))
    var precision: Precision = .fp32

    func validate() throws { try checkPrecision(precision) }

    /// The configuration these options describe, for a data set whose default network is
    /// `defaultNetwork`, checked.
    /// `networkFields` set fields of the network's configuration that the data decides
    /// (a table's feature count), before the options and the checks.
    func configuration(defaultNetwork: String, defaultRecipe: MOCCAConfiguration.Recipe = .default,
                       networkFields: [String: JSONValue] = [:]) throws -> MOCCAConfiguration {
        var c = MOCCAConfiguration(recipe: recipe ?? defaultRecipe)
        c.network = try NetworkRegistry.defaults(for: network ?? defaultNetwork)
        for (key, value) in networkFields.sorted(by: { $0.key < $1.key }) { c.network.configuration = c.network.configuration.setting(key, to: value) }
        if let codeLength { c.network.configuration = c.network.configuration.setting("codeLength", to: .number(Double(codeLength))) }
        if selectors {
            guard c.network.configuration["selectors"] != nil else {
                throw ValidationError("--selectors applies to networks with selector heads (mvtec-resnet, video-c3d), not \(c.network.name)")
            }
            c.network.configuration = c.network.configuration.setting("selectors", to: .bool(true))
        }
        c.taps = try taps.map(splitList) ?? c.network.resolved().tapNames
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
        c.reconstructionChannel = reconstruction
        c.tapScore = tapScore ?? c.tapScore
        // The reconstruction channel is on another scale: it is fused standardised unless told otherwise.
        c.fusion = fusion ?? (reconstruction ? .standardized : c.fusion)
        c.neighbors = neighbors
        c.referenceLimit = references
        c.keepsLowestLossEpoch = keepBestEpoch
        c.trainsEndToEnd = endToEnd
        c.precision = precision
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }
}

/// `--threads`, applied to every backend. `--threads` and `MOCCA_THREADS` are both checked
/// by `Threads.parse(_:source:)`: a whole number from 1 to 4 × the cores.
struct ThreadOptions: ParsableArguments {
    // Parsed unconditionally so that `--threads -3` reaches the check instead of reading as a flag.
    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Threads for every backend, 1 to \(Threads.maximum) (4 × the cores) (default: \(Threads.environmentVariable), else all cores).",
        valueName: "n"))
    var threads: String?

    func validate() throws {
        do {
            if let threads { _ = try Threads.parse(threads, source: "--threads") } else { _ = try Threads.environmentCount() }
        } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Sets the thread count of every backend from `--threads` (the default already
    /// follows `MOCCA_THREADS`).
    func apply() throws {
        if let threads { Threads.count = try Threads.parse(threads, source: "--threads") }
    }
}

/// The help of every `--precision` option that scores or trains a detector.
let precisionHelp = "Precision of the network's products: fp32, or bf16 on a CPU with AVX512-BF16 or AMX: 2-D and 3-D convolutions (training and scoring) and fully connected layers (scoring) take bf16 operands, about 3 significant digits each, and accumulate in float32; weights stay float32. LSTMs stay float32."

/// Refuses bf16 up front where oneDNN has no native bf16 kernels, rather than failing
/// after the data is read (``MOCCACore/ComputePrecision/run(in:_:)`` would refuse it there).
func checkPrecision(_ precision: Precision) throws {
    if precision == .bf16, !ComputePrecision.bf16IsNative {
        throw ValidationError("--precision bf16 needs a CPU with AVX512-BF16 or AMX; oneDNN runs \(ComputePrecision.isaName) here")
    }
}

func splitList(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// The seeds of a comma-separated `--seeds` list, checked: at least one, each a
/// non-negative integer.
func parseSeeds(_ text: String) throws -> [UInt64] {
    let items = splitList(text)
    guard !items.isEmpty else { throw ValidationError("--seeds is empty: name at least one seed") }
    return try items.map { item in
        guard let seed = UInt64(item) else { throw ValidationError("--seeds: '\(item)' is not a non-negative integer") }
        return seed
    }
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
