import ArgumentParser
import Foundation
import MOCCA

extension InspectionPreprocessing.Normalization: ExpressibleByArgument {}

/// How inspection images are cut and augmented for training (`--dataset mvtec|mtd|folder`).
struct InspectionOptions: ParsableArguments {
    @Option(help: "Patch side in pixels; 0 trains and scores whole images (default: 64 for MVTec AD textures and mtd, whole images otherwise).")
    var patchSize: Int?
    @Option(help: "Step between scored patches in pixels; below the patch size, anomaly maps get finer (default: the patch size).")
    var scoringStride: Int?
    @Option(help: "Training samples drawn per epoch (default: 50000 patches for MVTec AD textures, 10000 for mtd, one per image otherwise).")
    var samplesPerEpoch: Int?
    @Option(help: "Training rotation in degrees as MIN:MAX, or none (default: 0:45 with patches, -45:45 for bottle, hazelnut, metal_nut and screw, none otherwise).")
    var rotation: String?
    @Option(help: "Pixel scaling: fixed (the official [-1, 1]) or image (each image standardised by its own mean and deviation).")
    var normalization: InspectionPreprocessing.Normalization?
    @Flag(help: "Leave out images or masks that cannot be read (they are listed) instead of stopping before training.")
    var skipBad = false
    @Option(help: "Anomaly maps from this feature-map tap (o2 of mvtec-resnet, say): each location of an image or patch scored by its distance to the nearest training location; the maps' maximum is also an image score.")
    var localMaps: String?
    @Option(help: "Training locations the local maps keep, a farthest-point coreset (default: 4096).")
    var localReferences: Int?

    /// The local-map options asked for.
    func localMapOptions() throws -> LocalMapOptions? {
        guard let tap = localMaps else {
            if localReferences != nil { throw ValidationError("--local-references needs --local-maps TAP") }
            return nil
        }
        var options = LocalMapOptions(tap: tap)
        if let localReferences { options.references = localReferences }
        return options
    }

    /// The preprocessing for `data`, the data set's preset with these options applied, checked.
    func preprocessing(for data: DataOptions) throws -> InspectionPreprocessing {
        let channels = data.channels
        let texture: Bool
        switch data.dataset {
        case .mvtec: texture = InspectionLayout.textureCategories.contains(data.category ?? "")
        case .mtd: texture = true
        default: texture = false
        }
        var p: InspectionPreprocessing
        if texture {
            p = .texture(channels: channels, size: data.dataset == .mtd ? 256 : 512)
        } else {
            p = .object(channels: channels, rotationInvariant: data.dataset == .mvtec && InspectionLayout.rotationInvariantCategories.contains(data.category ?? ""))
        }
        if let side = data.imageSize.flatMap(Int.init) { p.imageSize = side }
        if let patchSize { p.patchSize = patchSize == 0 ? nil : patchSize }
        p.scoringStride = scoringStride
        p.normalization = normalization
        if let rotation {
            if rotation == "none" {
                p.augmentation = nil
            } else {
                let parts = rotation.split(separator: ":", omittingEmptySubsequences: false).map { Double($0) }
                guard parts.count == 2, let low = parts[0], let high = parts[1] else {
                    throw ValidationError("--rotation \(rotation): expected MIN:MAX in degrees (for example 0:45) or none")
                }
                p.augmentation = .init(minimumDegrees: low, maximumDegrees: high)
            }
        }
        do { try p.validate() } catch { throw ValidationError("\(error)") }
        if let samplesPerEpoch, samplesPerEpoch < 2 { throw ValidationError("--samples-per-epoch must be at least 2, got \(samplesPerEpoch)") }
        return p
    }

    /// Samples per epoch: the option, or the data set's default.
    func samples(for data: DataOptions, preprocessing: InspectionPreprocessing) -> Int? {
        if let samplesPerEpoch { return samplesPerEpoch }
        guard preprocessing.patchSize != nil else { return nil }
        return data.dataset == .mtd ? 10_000 : 50_000
    }
}

/// `configuration` with its network's input fitted to the samples: a network whose
/// configuration has `channels` and `imageSize` (the residual inspection autoencoder) takes
/// them from the preprocessing; any other must already match (checked when training starts).
///
/// It also sets the local maps that `inspection` asks for.
func fitted(_ configuration: MOCCAConfiguration, to preprocessing: InspectionPreprocessing, inspection: InspectionOptions) throws -> MOCCAConfiguration {
    var c = configuration
    c.localMaps = try inspection.localMapOptions()
    var network = c.network.configuration
    if network["channels"] != nil { network = network.setting("channels", to: .number(Double(preprocessing.channels))) }
    if network["imageSize"] != nil { network = network.setting("imageSize", to: .number(Double(preprocessing.sampleSide))) }
    c.network.configuration = network
    do { try c.validate() } catch { throw ValidationError("\(error)") }
    let shape = try c.network.resolved().inputShape
    guard shape == preprocessing.sampleShape else {
        throw ValidationError("the \(c.network.name) network takes samples of shape \(shape), the inspection samples are \(preprocessing.sampleShape); choose --patch-size, --image-size and --channels to match, or --network mvtec-resnet")
    }
    return c
}

/// Reads an inspection data set's split (seeded by the configuration's seed).
func inspectionSplit(_ data: DataOptions, seed: UInt64, requireTest: Bool) throws -> (InspectionSplit, InspectionDataDescription.Source) {
    let path = URL(fileURLWithPath: data.data).standardizedFileURL.path
    switch data.dataset {
    case .mvtec:
        let category = data.category ?? ""
        return (try InspectionLayout.mvtec(root: path, category: category, seed: seed, requireTest: requireTest),
                .init(layout: "mvtec", path: path, category: category))
    case .mtd:
        return (try InspectionLayout.mtd(root: path, seed: seed), .init(layout: "mtd", path: path))
    default:
        let absolute = { (p: String?) in p.map { URL(fileURLWithPath: $0).standardizedFileURL.path } }
        return (try InspectionLayout.folder(normal: path, abnormal: absolute(data.abnormal), masks: absolute(data.masks), seed: seed),
                .init(layout: "folder", path: path, abnormal: absolute(data.abnormal), masks: absolute(data.masks)))
    }
}

/// Drops the unreadable images of `split` (with `skipBad`, listing them), or stops naming them.
func checkFiles(_ split: InspectionSplit, preprocessing: InspectionPreprocessing, skipBad: Bool) throws -> InspectionSplit {
    func kept(_ images: [InspectionImage], _ part: String) throws -> [InspectionImage] {
        let problems = InspectionImageStore(images, preprocessing: preprocessing, cacheBytes: 0).problems()
        guard !problems.isEmpty else { return images }
        let lines = problems.prefix(10).map { "  \($0.message)" } + (problems.count > 10 ? ["  ... and \(problems.count - 10) more"] : [])
        guard skipBad else {
            throw CommandFailure("\(problems.count) \(part) image\(problems.count == 1 ? "" : "s") or mask\(problems.count == 1 ? "" : "s") cannot be used:\n"
                                 + lines.joined(separator: "\n") + "\nfix or remove them, or pass --skip-bad to leave them out")
        }
        printError("warning: leaving out \(problems.count) \(part) image\(problems.count == 1 ? "" : "s"):\n" + lines.joined(separator: "\n"))
        let bad = Set(problems.map(\.index))
        return images.indices.filter { !bad.contains($0) }.map { images[$0] }
    }
    var checked = split
    checked.train = try kept(split.train, "training")
    checked.validation = try kept(split.validation, "validation")
    checked.test = try kept(split.test, "test")
    guard checked.train.count >= 2 else {
        throw CommandFailure("\(split.name): \(checked.train.count) usable defect-free training image\(checked.train.count == 1 ? "" : "s"); at least 2 are needed")
    }
    return checked
}

/// Trains an inspection detector on a split's defect-free images with a live progress line.
func trainInspectionDetector(data: DataOptions, inspection: InspectionOptions, configuration: MOCCAConfiguration,
                             evaluate: Bool, allowDivergence: Bool) throws -> (MOCCADetector, InspectionSplit) {
    let preprocessing = try inspection.preprocessing(for: data)
    let configuration = try fitted(configuration, to: preprocessing, inspection: inspection)
    let start = Date()
    var (split, source) = try inspectionSplit(data, seed: configuration.seed, requireTest: evaluate)
    split = try checkFiles(split, preprocessing: preprocessing, skipBad: inspection.skipBad)
    let samples = inspection.samples(for: data, preprocessing: preprocessing)
    printError(String(format: "%@: %d defect-free training images, %d validation and %d test images (%@), read in %.1f s; training on %@ of the %d-px images",
                      split.name, split.train.count, split.validation.count, split.test.count,
                      split.hasMasks ? "with masks" : "no masks", Date().timeIntervalSince(start),
                      preprocessing.patchSize.map { "\(samples ?? 0) \($0)-px patches per epoch" } ?? "the whole", preprocessing.imageSize))
    let detector = try MOCCADetector(configuration: configuration)
    detector.stopsOnDivergence = !allowDivergence
    detector.trainingData = TrainingDataDescription(
        dataset: data.dataset.rawValue, path: source.path, normalClass: "good", classNames: ["good"] + split.defectTypes,
        imageShape: preprocessing.sampleShape, inspection: InspectionDataDescription(source: source, splitSeed: configuration.seed, preprocessing: preprocessing))
    try detector.fit(inspection: split, preprocessing: preprocessing, samplesPerEpoch: samples, progress: ProgressLine().report)
    if let warning = constantChannelWarning(detector) { printError(warning) }
    return (detector, split)
}

/// A table of an inspection evaluation: image AUROC overall, per channel and per defect
/// type, the decisions at the threshold, and pixel metrics where masks exist.
func renderInspection(_ e: InspectionEvaluation, title: String) -> String {
    func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
    func row(_ name: String, _ m: DetectionMetrics) -> String {
        pad(name, 26) + String(format: "%9.4f%9.4f%9.4f", m.auroc, m.aupr, m.maxBalancedAccuracy) + intervalCell(m)
    }
    var lines = [title, pad("image-level score", 26) + "    AUROC     AUPR max bACC" + intervalHeader]
    lines.append(row("overall", e.overall))
    for (name, m) in zip(e.channels, e.perChannel) { lines.append(row("  channel \(name)", m)) }
    for (type, m) in e.perDefect.sorted(by: { $0.key < $1.key }) { lines.append(row("  defect \(type)", m)) }
    if e.channels.contains("reconstruction") { lines.append(row("taps alone", e.tapScore)) }
    lines.append(row("paper: centroid, mean", e.paperScore))
    if let local = e.localMapScore { lines.append(row("local map, maximum", local)) }
    if let groups = e.overall.aurocGroupCount {
        lines.append("AUROC intervals count the \(groups) groups of images (an object photographed several times, as MTD's tiles) as the independent units (Obuchowski's clustered estimator)")
    }
    if let pixel = e.pixelMetrics {
        let interval = pixel.pixel.aurocInterval95.map {
            String(format: " (95%% CI %.3f–%.3f over %d ", $0.lowerBound, $0.upperBound, pixel.pixel.aurocGroupCount ?? 0)
                + (e.overall.aurocGroupCount == nil ? "images)" : "groups of images)")
        } ?? ""
        lines.append(String(format: "pixel AUROC %.4f", pixel.pixel.auroc) + interval + String(format: ", PRO (FPR ≤ 0.3) %.4f", pixel.pro))
    }
    let c = e.confusion
    lines.append(String(format: "threshold %.6g: %d of %d defective images flagged, %d of %d defect-free flagged (balanced accuracy %.4f)",
                        e.threshold, c.truePositives, e.anomalyCount, c.falsePositives, e.normalCount, c.balancedAccuracy))
    return lines.joined(separator: "\n")
}
