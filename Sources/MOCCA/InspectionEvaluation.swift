import Foundation
import MOCCACore
import MOCCAData

/// A confusion matrix at a threshold, anomalies as the positive class.
public struct ConfusionCounts: Codable, Sendable, Equatable {
    /// Anomalies flagged, normal images flagged, normal images passed, anomalies missed.
    public var truePositives = 0, falsePositives = 0, trueNegatives = 0, falseNegatives = 0

    /// Counts the decisions `score > threshold` against `labels` (1 anomaly).
    public init(scores: [Float], labels: [Int], threshold: Float) {
        for (score, label) in zip(scores, labels) {
            switch (score > threshold, label == 1) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, false): trueNegatives += 1
            case (false, true): falseNegatives += 1
            }
        }
    }

    /// `(TPR + TNR) / 2`.
    public var balancedAccuracy: Double {
        let tpr = Double(truePositives) / Double(max(truePositives + falseNegatives, 1))
        let tnr = Double(trueNegatives) / Double(max(trueNegatives + falsePositives, 1))
        return (tpr + tnr) / 2
    }
}

/// An inspection detector's metrics on labelled images: image-level overall, per channel
/// and per defect type, the decisions at its threshold and, where masks exist, pixel-level.
public struct InspectionEvaluation: Codable, Sendable {
    /// The images evaluated: defect-free and defective.
    public var normalCount: Int, anomalyCount: Int
    /// Image-level metrics of the detector's own (fused) score.
    public var overall: DetectionMetrics
    /// The channels, with their image-level metrics in the same order.
    public var channels: [String]
    /// Each channel's image-level metrics (each image scored by its channel's highest patch).
    public var perChannel: [DetectionMetrics]
    /// Each defect type against the defect-free images.
    public var perDefect: [String: DetectionMetrics]
    /// The paper's score (mean over taps of the squared centroid distance) from the same
    /// trained detector, whatever its own tap score.
    public var paperScore: DetectionMetrics
    /// The taps alone, fused by the detector's rule (the overall score without the
    /// reconstruction channel).
    public var tapScore: DetectionMetrics
    /// The detector's threshold, and its decisions there.
    public var threshold: Float
    /// The decisions at ``threshold``.
    public var confusion: ConfusionCounts
    /// Pixel-level metrics (AUROC, per-region overlap integrated to a 30% false positive
    /// rate), where the images have masks and are cut into several patches.
    public var pixelMetrics: PixelMetrics?
    /// Pixel-level metrics of the maps of other scores of the same pass (see
    /// ``InspectionScores/patchSeries``), where asked for.
    public var pixelMetricsBySeries: [String: PixelMetrics] = [:]

    /// Image-level metrics of the local maps' maxima (``InspectionScores/localMaps``), where
    /// the detector has local maps.
    public var localMapScore: DetectionMetrics?

    /// The pixel AUROC, where computed.
    public var pixelAUROC: Double? { pixelMetrics?.pixel.auroc }
    /// The per-region overlap, where computed.
    public var pro: Double? { pixelMetrics?.pro }
}

extension MOCCADetector {
    /// Scores `images` (cut as `preprocessing` says) and evaluates them at image level.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` unless both defect-free and defective
    ///   images are present, and what scoring throws.
    ///
    /// Where every defective image has a mask and images are cut into several patches, it
    /// also draws each image's anomaly map (``AnomalyMap``) and computes pixel AUROC and
    /// PRO on maps and masks of ``AnomalyMap/maximumMetricSide`` pixels at most.
    /// - Parameter mapSeries: other scores (``InspectionScores/patchSeries``) whose maps to
    ///   evaluate too.
    public func evaluate(inspection images: [InspectionImage], preprocessing: InspectionPreprocessing,
                         mapSeries: [String] = []) throws -> (InspectionEvaluation, InspectionScores, InspectionPatches) {
        let store = InspectionImageStore(images, preprocessing: preprocessing)
        let patches = InspectionPatches(store)
        let scores = try score(patches)
        var evaluation = try evaluate(inspection: images, scores: scores)
        let masked = images.allSatisfy { !$0.isAnomalous || $0.mask != nil }
        let patched = patches.patchesPerImage > 1
        if masked, patched || scores.localMaps != nil {
            // Local maps are scored at the metric side whatever the image size, so that a
            // detector of small whole images is held to the masks' detail.
            let side = patched ? min(preprocessing.imageSize, AnomalyMap.maximumMetricSide) : AnomalyMap.maximumMetricSide
            let masks = try images.indices.map { try store.mask(at: $0, side: side) ?? [] }
            // Defects too small to survive the resize leave nothing to localise.
            if masks.contains(where: { $0.contains(1) }) {
                let series = patched ? mapSeries.filter { scores.patchSeries[$0] != nil } : []
                for series in [nil] + series.map(Optional.some) {
                    let maps = try images.indices.map { try AnomalyMap.map(ofImage: $0, scores: scores, preprocessing: preprocessing, side: side, series: series) }
                    let metrics = try PixelMetrics(maps: maps, masks: masks, width: side, height: side,
                                                   groups: InspectionImage.groupIDs(images))
                    if let series { evaluation.pixelMetricsBySeries[series] = metrics } else { evaluation.pixelMetrics = metrics }
                }
            }
        }
        return (evaluation, scores, patches)
    }

    /// Evaluates scores already computed for `images`, at image level.
    ///
    /// Where images share a ``InspectionImage/group`` (MTD's tiles), the AUROCs' confidence
    /// intervals count groups, not images, as the independent units.
    public func evaluate(inspection images: [InspectionImage], scores: InspectionScores) throws -> InspectionEvaluation {
        let labels = images.map(\.label)
        let groups = InspectionImage.groupIDs(images)
        func metrics(_ scores: [Float], _ chosen: [Int]? = nil) throws -> DetectionMetrics {
            guard let chosen else { return try DetectionMetrics(scores: scores, labels: labels, groups: groups) }
            return try DetectionMetrics(scores: chosen.map { scores[$0] }, labels: chosen.map { labels[$0] }, groups: groups.map { g in chosen.map { g[$0] } })
        }
        var perDefect: [String: DetectionMetrics] = [:]
        for type in Set(images.compactMap(\.defect)) {
            perDefect[type] = try metrics(scores.images, images.indices.filter { images[$0].defect == nil || images[$0].defect == type })
        }
        return InspectionEvaluation(
            normalCount: labels.filter { $0 == 0 }.count, anomalyCount: labels.filter { $0 == 1 }.count,
            overall: try metrics(scores.images), channels: scores.channels,
            perChannel: try scores.imagesPerChannel.map { try metrics($0) },
            perDefect: perDefect, paperScore: try metrics(scores.paperImages),
            tapScore: try metrics(scores.tapImages), threshold: threshold,
            confusion: ConfusionCounts(scores: scores.images, labels: labels, threshold: threshold),
            pixelMetrics: nil, localMapScore: try scores.localMaps.map { try metrics($0.imageScores) })
    }
}

extension MOCCADetector {
    /// Fits the detector on an inspection split's defect-free training images (both
    /// phases), then sets the threshold at image level.
    ///
    /// Training samples are ``InspectionTrainingSamples``: `samplesPerEpoch` rotated
    /// patches or images drawn from the training images (default: one per image). An image
    /// scores as its most anomalous patch, so a threshold on patch scores would flag nearly
    /// every image; the threshold is instead the `(1 − ν)` quantile of the image scores of
    /// the held-out defect-free validation images, or of the training images' own when the
    /// split holds none out.
    /// - Throws: what fitting throws, and ``DataError`` for unreadable images.
    public func fit(inspection split: InspectionSplit, preprocessing: InspectionPreprocessing, samplesPerEpoch: Int? = nil,
                    progress: ((TrainingProgress) -> Void)? = nil) throws {
        try checkLocalMaps(preprocessing)
        let store = InspectionImageStore(split.train, preprocessing: preprocessing)
        try fit(normal: InspectionTrainingSamples(store, count: samplesPerEpoch, seed: configuration.seed), progress: progress)
        try fitInspectionScorers(split: split, preprocessing: preprocessing)
    }

    /// With patches, refits the scorers on every scored patch of the training images (see
    /// ``fitScorers(on:)``), then sets the image threshold.
    ///
    /// The nearest-neighbour score then searches the patches that test images are cut
    /// into, at the same positions and without rotation, as memory-bank methods do; the
    /// rotated random crops of training cover them sparsely (on MTD, with 4,000 crops the
    /// image AUROC was at chance).
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` for local maps on a tap that is not a feature map.
    public func fitInspectionScorers(split: InspectionSplit, preprocessing: InspectionPreprocessing) throws {
        try checkLocalMaps(preprocessing)
        if preprocessing.patchSize != nil {
            try fitScorers(on: InspectionPatches(InspectionImageStore(split.train, preprocessing: preprocessing)))
        }
        try calibrateImageThreshold(split: split, preprocessing: preprocessing)
    }

    /// Throws ``MOCCAError/invalidConfiguration(_:)`` for local maps
    /// (``MOCCAConfiguration/localMaps``) on a tap that is not a feature map: before
    /// training rather than after.
    func checkLocalMaps(_ preprocessing: InspectionPreprocessing) throws {
        guard let options = configuration.localMaps else { return }
        try checkLocalMapTap(options.tap)
    }

    /// Sets the threshold to the `(1 − ν)` quantile of the image scores of the split's
    /// held-out defect-free images (validation), or of its training images without them.
    public func calibrateImageThreshold(split: InspectionSplit, preprocessing: InspectionPreprocessing) throws {
        let heldOut = split.validation.filter { !$0.isAnomalous }
        let reference = heldOut.isEmpty ? split.train : heldOut
        let scores = try score(InspectionPatches(InspectionImageStore(reference, preprocessing: preprocessing)))
        try setThreshold(heldOut.isEmpty ? .trainingQuantile(nu: configuration.nu) : .falsePositiveRate(rate: configuration.nu),
                         referenceScores: scores.images)
    }
}
