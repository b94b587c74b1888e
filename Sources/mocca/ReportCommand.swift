import ArgumentParser
import Foundation
import MOCCA
import MOCCAReport

/// `mocca report`: a self-contained HTML page with PNG figures about an inspection or a
/// video detector.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write an HTML report for an inspection detector (ROC, histograms, per-tap AUROC, the most anomalous images with anomaly maps) or a video detector (frame-level AUROC, per-tap AUROC, each test video's score curve against its ground truth).",
        discussion: """
            Scores the test split of the data the detector was trained on (or its validation
            split with --split validation), as `mocca evaluate` does, and writes OUT/index.html
            with its PNG figures. An existing report folder is replaced; any other folder is
            refused, and files the user put in a report folder are kept.
            """)

    @Argument(help: "The detector folder.") var model: String
    @Option(help: "The folder to write the report to.") var out: String
    @Option(help: "How many of the most anomalous images to show with their anomaly maps.") var examples = 12
    @Option(help: "The split to report on: test or validation.") var split = "test"
    @OptionGroup var threads: ThreadOptions

    func validate() throws {
        guard (0...200).contains(examples) else { throw ValidationError("--examples must be 0 to 200, got \(examples)") }
        guard ["test", "validation"].contains(split) else { throw ValidationError("--split must be test or validation, got \(split)") }
    }

    func run() throws {
        try threads.apply()
        let detector = try MOCCADetector.load(from: URL(fileURLWithPath: model))
        if let video = detector.trainingData?.video {
            guard split == "test" else { throw CommandFailure("a video detector is reported on its test videos; --split validation applies to inspection detectors") }
            return try reportVideos(detector, video)
        }
        guard let inspection = detector.trainingData?.inspection else {
            throw CommandFailure("the detector \(model) was not trained on an inspection data set (--dataset mvtec, mtd or folder); mocca report describes those")
        }
        let data = try inspection.split()
        let images = split == "test" ? data.test : data.validation
        guard images.contains(where: \.isAnomalous), images.contains(where: { !$0.isAnomalous }) else {
            throw CommandFailure("the \(split) split of \(data.name) needs defect-free and defective images to report on")
        }
        let p = inspection.preprocessing
        let (evaluation, scores, patches) = try detector.evaluate(inspection: images, preprocessing: p)
        var shown: [InspectionReport.Example] = []
        for index in InspectionReport.mostAnomalous(scores.images, count: examples) {
            let image = images[index]
            shown.append(InspectionReport.Example(
                name: image.path, image: try patches.store.image(at: index),
                anomalyMap: patches.patchesPerImage > 1 || scores.localMaps != nil ? try AnomalyMap.map(ofImage: index, scores: scores, preprocessing: p) : nil,
                mask: try patches.store.mask(at: index), score: scores.images[index], label: image.label, defectType: image.defectName))
        }
        let c = detector.configuration
        let description = [
            "data: \(data.name) at \(inspection.source.path), \(split) split: \(evaluation.normalCount) defect-free and \(evaluation.anomalyCount) defective images",
            "training: \(detector.summary?.normalCount ?? data.train.count) samples from \(data.train.count) defect-free images; "
                + (p.patchSize.map { "\($0)-px patches of \(p.imageSize)-px images, scored every \(p.stride) px; an image scores as its highest patch" } ?? "whole \(p.imageSize)-px images"),
            "network: \(c.network.name), taps \(c.taps.joined(separator: ", ")); \(c.boundary.rawValue) boundary, ν \(c.nu); tap score \(c.tapScore.rawValue), \(c.fusion.rawValue) fusion",
            String(format: "image AUROC %.4f; the paper's centroid score from the same detector %.4f", evaluation.overall.auroc, evaluation.paperScore.auroc)
                + (evaluation.pixelAUROC.map { String(format: "; pixel AUROC %.4f, PRO %.4f", $0, evaluation.pro ?? .nan) } ?? ""),
            "threshold: \(detector.thresholdRule)",
        ]
        let report = InspectionReport(
            title: "MOCCA inspection report: \(data.name)", detectorDescription: description, scores: scores.images,
            labels: images.map(\.label), defectTypes: images.map(\.defectName), channelNames: scores.channels,
            channelScores: scores.imagesPerChannel, threshold: detector.threshold, examples: shown, pixelMetrics: evaluation.pixelMetrics,
            groups: InspectionImage.groupIDs(images))
        let written = try ReportWriter.write(report, to: URL(fileURLWithPath: out))
        print("wrote \((out as NSString).appendingPathComponent("index.html")) with \(written.count) files")
    }

    /// The video report: the test videos of the detector's data root, scored frame by frame.
    private func reportVideos(_ detector: MOCCADetector, _ video: VideoDataDescription) throws {
        let test = try VideoLayout.readShanghaiTech(root: URL(fileURLWithPath: video.root)).test
        guard !test.isEmpty else { throw CommandFailure("\(video.root) has no test videos (testing/frames/<video>) to report on") }
        let (evaluation, scores) = try detector.evaluate(video: video.clips(of: test))
        let labels = test.map { ($0.labels ?? []).map { $0 == 0 ? 0 : 1 } }
        let normalized = (oneClass: VideoFrameScores.normalized(scores.oneClass), reconstruction: scores.reconstruction.map(VideoFrameScores.normalized),
                          local: scores.localReconstruction.map(VideoFrameScores.normalized))
        let videos = test.indices.map { v in
            var curves: [(name: String, scores: [Float])] = []
            if let combined = scores.combined { curves.append(("combined", combined[v])) }
            curves.append(("one-class", normalized.oneClass[v]))
            if let reconstruction = normalized.reconstruction { curves.append(("reconstruction", reconstruction[v])) }
            if let local = normalized.local { curves.append(("local recon.", local[v])) }
            return VideoReport.Video(name: test[v].name, labels: labels[v], curves: curves)
        }
        func row(_ name: String, _ m: DetectionMetrics?) -> VideoReport.Row? { m.map { VideoReport.Row(name: name, auroc: $0.auroc, aupr: $0.aupr) } }
        let rows = evaluation.namedScores.compactMap { row($0.full, $0.metrics) }
        let taps = detector.configuration.taps.compactMap { row($0, evaluation.perChannel[$0]) }
        let c = detector.configuration, f = video.frames
        let description = [
            "data: \(test.count) test videos of \(video.root), \(evaluation.frameCount) frames, \(evaluation.anomalousFrames) anomalous",
            "frames: \(f.height)x\(f.width), \(video.clipLength)-frame clips of stride 1; a frame scores the mean of the clips that contain it"
                + (evaluation.localCell.map { "; its local reconstruction error is the largest \($0)x\($0)-px cell mean of its squared error" } ?? ""),
            "network: \(c.network.name), taps \(c.taps.joined(separator: ", ")); \(c.boundary.rawValue) boundary, ν \(c.nu); tap score \(c.tapScore.rawValue); "
                + (c.trainsEndToEnd ? "trained end to end" : "trained in two phases"),
        ]
        let report = VideoReport(title: "MOCCA video report: \((video.root as NSString).lastPathComponent)", detectorDescription: description,
                                 rows: rows, taps: taps, videos: videos)
        let written = try ReportWriter.write(report, to: URL(fileURLWithPath: out))
        print("wrote \((out as NSString).appendingPathComponent("index.html")) with \(written.count) files")
    }
}
