import ArgumentParser
import Foundation
import MOCCA
import MOCCAData
import MOCCAModels

/// How videos become clips (`--dataset video`).
struct VideoOptions: ParsableArguments {
    @Option(help: "Frame size HxW after resizing, multiples of 32 (default: 64x96, a third of Ped2's 240x360 and what two cores train in about an hour).")
    var frameSize: String?
    @Option(help: "Frames per clip, a multiple of 4 (default: 16, the paper's).")
    var clipLength: Int?
    @Option(help: "Training clips drawn per epoch, new ones each epoch (default: 10000, the official code's).")
    var clipsPerEpoch: Int?
    @Option(help: "Step between the training clips drawn from (default: 1: every clip).")
    var trainStride: Int?
    @Flag(help: "Remove each video's median background (LSA's preprocessing) before training and scoring.")
    var removeBackground = false

    /// Whether any option of the group was given (they apply to `--dataset video` only).
    var isSet: Bool { frameSize != nil || clipLength != nil || clipsPerEpoch != nil || trainStride != nil || removeBackground }

    /// The frame size, checked.
    func size() throws -> (height: Int, width: Int) {
        guard let frameSize else { return (64, 96) }
        let parts = frameSize.lowercased().split(separator: "x").compactMap { Int($0) }
        guard parts.count == 2, parts.allSatisfy({ $0 >= 32 && $0 % 32 == 0 }) else {
            throw ValidationError("--frame-size \(frameSize): give HxW, each a multiple of 32 (the encoder halves the frame five times)")
        }
        return (parts[0], parts[1])
    }

    /// The frame options for `channels` channels.
    func frameOptions(channels: Int) throws -> VideoFrameOptions {
        let (height, width) = try size()
        return VideoFrameOptions(channels: channels, height: height, width: width, backgroundRemoval: removeBackground ? BackgroundRemoval() : nil)
    }

    /// The `video-c3d` fields the data decides.
    func networkFields(channels: Int) throws -> [String: JSONValue] {
        let (height, width) = try size()
        return ["channels": .number(Double(channels)), "height": .number(Double(height)), "width": .number(Double(width)),
                "clipLength": .number(Double(clipLength ?? 16))]
    }

    func validate() throws {
        _ = try size()
        if let clipLength, clipLength < 4 || clipLength % 4 != 0 { throw ValidationError("--clip-length must be a positive multiple of 4, got \(clipLength)") }
        if let clipsPerEpoch, clipsPerEpoch < 1 { throw ValidationError("--clips-per-epoch must be at least 1, got \(clipsPerEpoch)") }
        if let trainStride, trainStride < 1 { throw ValidationError("--train-stride must be at least 1, got \(trainStride)") }
    }
}

/// Reads a video data set, trains a detector on its training videos' clips, and returns it
/// with the test videos.
func trainVideoDetector(data: DataOptions, video: VideoOptions, method: MethodOptions, allowDivergence: Bool) throws -> (MOCCADetector, [Video]) {
    let root = URL(fileURLWithPath: data.data).standardizedFileURL
    let split = try VideoLayout.readShanghaiTech(root: root)
    let channels = data.channelCount ?? 1
    var configuration = try method.configuration(defaultNetwork: data.dataset.defaultNetwork, networkFields: video.networkFields(channels: channels))
    // The paper's combined score needs the reconstruction error.
    configuration.reconstructionChannel = true
    configuration.fusion = .standardized
    let description = VideoDataDescription(root: root.path, frames: try video.frameOptions(channels: channels),
                                           clipLength: video.clipLength ?? 16, normalization: .symmetric)
    let start = Date()
    let cache = try VideoFrameCache(videos: split.train, options: description.frames)
    try cache.decodeAll()
    let pool = try VideoClips(cache, length: description.clipLength, stride: video.trainStride ?? 1, normalization: description.normalization)
    let clips = try VideoTrainingClips(pool, count: video.clipsPerEpoch ?? 10_000, seed: configuration.seed)
    printError(String(format: "decoded %d training frames of %d videos in %.1f s (%.0f MB); %d clips to draw from, %d per epoch",
                      cache.frameCount, split.train.count, Date().timeIntervalSince(start), Double(cache.cachedBytes) / 1e6, pool.count, clips.count))
    let detector = try MOCCADetector(configuration: configuration)
    detector.trainingData = TrainingDataDescription(dataset: DatasetKind.video.rawValue, path: root.path, normalClass: "normal",
                                                    classNames: ["normal", "anomalous"], imageShape: pool.sampleShape, video: description)
    try fit(detector, on: clips, allowDivergence: allowDivergence)
    return (detector, split.test)
}

/// The frame-level table of a video evaluation.
func renderVideo(_ e: VideoEvaluation, title: String) -> String {
    func row(_ name: String, _ m: DetectionMetrics?) -> String? {
        m.map { name.padding(toLength: 30, withPad: " ", startingAt: 0) + String(format: "%9.4f%9.4f", $0.auroc, $0.aupr) + intervalCell($0) }
    }
    var lines = [title, "frame-level score".padding(toLength: 30, withPad: " ", startingAt: 0) + "    AUROC     AUPR" + intervalHeader]
    lines += e.namedScores.compactMap { row($0.short, $0.metrics) }
    for name in e.perChannel.keys.sorted() where name != "reconstruction" { if let line = row("  tap \(name)", e.perChannel[name]) { lines.append(line) } }
    lines.append("\(e.frameCount) frames of \(e.videos.count) videos, \(e.anomalousFrames) anomalous; each score min-max normalised within its video; AUROC intervals count videos, not frames (Obuchowski's clustered estimator)")
    if let cell = e.localCell { lines.append("local reconstruction: the largest \(cell)x\(cell)-px cell mean of each frame's squared error, averaged over its clips") }
    return lines.joined(separator: "\n")
}
