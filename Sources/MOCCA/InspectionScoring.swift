import MOCCACore
import MOCCAData

/// The scores of inspection images: per image (the highest of its patches, overall and
/// per channel) and per patch, from which anomaly maps are drawn.
public struct InspectionScores: Sendable {
    /// The images' fused scores: each the highest fused score of its patches.
    public var images: [Float]
    /// The channels' names (the taps, then `reconstruction` when enabled).
    public var channels: [String]
    /// Per channel, each image's highest patch score of that channel.
    public var imagesPerChannel: [[Float]]
    /// Every patch's fused score, image by image, in ``InspectionPreprocessing/scoringOrigins`` order.
    public var patches: [Float]
    /// Patches per image.
    public var patchesPerImage: Int
    /// The paper's score from the same trained detector, whatever its own tap score: each
    /// patch's mean over taps of the squared distance to the tap's centroid (minus R² for a
    /// soft boundary), and each image's highest.
    public var paperImages: [Float]
    /// The taps alone, fused by the detector's rule, without the reconstruction channel:
    /// each image's highest (equal to ``images`` without that channel).
    public var tapImages: [Float]
    /// Every patch's other scores from the same pass, by name: `taps` (the taps alone,
    /// fused), `paper` (the centroid score) and each channel's, for maps of any of them.
    public var patchSeries: [String: [Float]] = [:]
    /// Each image's local map (``LocalFeatureMemory``), where the detector has local maps:
    /// the tap's map for whole images, the patches' maps placed back for patches.
    public var localMaps: LocalMaps?

    /// Scores from their parts (one entry of `images`, of each `imagesPerChannel` row and
    /// of `paperImages` per image; `patchesPerImage` entries of `patches` per image).
    public init(images: [Float], channels: [String], imagesPerChannel: [[Float]], patches: [Float], patchesPerImage: Int,
                paperImages: [Float], tapImages: [Float]? = nil) {
        self.images = images
        self.channels = channels
        self.imagesPerChannel = imagesPerChannel
        self.patches = patches
        self.patchesPerImage = patchesPerImage
        self.paperImages = paperImages
        self.tapImages = tapImages ?? images
    }

    /// The fused scores of image `index`'s patches, or those of one of ``patchSeries``.
    public func patchScores(ofImage index: Int, series: String? = nil) -> ArraySlice<Float> {
        let values = series.flatMap { patchSeries[$0] } ?? patches
        return values[(index * patchesPerImage)..<((index + 1) * patchesPerImage)]
    }
}

extension MOCCADetector {
    /// Scores inspection images patch by patch; an image scores as its most anomalous
    /// patch (the official texture score; an object image is one patch).
    /// - Throws: as ``score(_:)-(SampleSource)``, naming the patch whose score is not finite.
    public func score(_ patches: InspectionPatches) throws -> InspectionScores {
        let series = try scoreSeries(patches)
        let (fused, raw) = (series.scores.overall, series.scores.perChannel)
        var scores = InspectionScores(images: patches.imageScores(fused), channels: channels,
                                      imagesPerChannel: raw.map(patches.imageScores),
                                      patches: fused, patchesPerImage: patches.patchesPerImage, paperImages: patches.imageScores(series.paper),
                                      tapImages: patches.imageScores(series.taps))
        scores.patchSeries = Dictionary(uniqueKeysWithValues: zip(channels, raw))
        (scores.patchSeries["taps"], scores.patchSeries["paper"]) = (series.taps, series.paper)
        let local = try localMaps(patches)
        scores.localMaps = patches.patchesPerImage == 1 ? local : try local?.assembled(on: patches)
        return scores
    }
}

/// An anomaly map: patch scores placed back on their image.
public enum AnomalyMap {
    /// The side of the maps that pixel metrics are computed on: the image side, at most
    /// 256 pixels, so that 500 maps take 130 MB rather than half a gigabyte at 512.
    public static let maximumMetricSide = 256

    /// Image `index`'s anomaly map at `side` pixels: its patch scores placed back
    /// (``assemble(patchScores:origins:patchSize:side:)``), smoothed by a Gaussian of half
    /// the scoring stride (which blurs the grid's block edges, the scale the map cannot
    /// resolve), then resized.
    ///
    /// The map holds no detail finer than the stride, so it is assembled and smoothed on a
    /// grid of `k`-pixel cells, `k` the largest common divisor of the stride, the patch and
    /// the image sizes that still leaves 8 cells per stride; smoothing costs `O(σ)` per
    /// pixel, and at full size (σ = 32 pixels for 64-pixel patches) it took most of an
    /// evaluation's time.
    ///
    /// A detector with local maps (``InspectionScores/localMaps``) draws its own map from
    /// them instead, for `series` nil or `local`.
    public static func map(ofImage index: Int, scores: InspectionScores, preprocessing p: InspectionPreprocessing,
                           side: Int? = nil, series: String? = nil) throws -> [Float] {
        if let local = scores.localMaps, series == nil || series == "local" {
            return try local.map(ofImage: index, side: side ?? p.imageSize)
        }
        let k = cellSize(stride: p.stride, patchSize: p.sampleSide, imageSize: p.imageSize)
        let n = p.imageSize / k
        let origins = p.scoringOrigins.map { (y: $0.y / k, x: $0.x / k) }
        let placed = assemble(patchScores: scores.patchScores(ofImage: index, series: series), origins: origins, patchSize: p.sampleSide / k, side: n)
        let smoothed = try HeatMap.smooth(placed, width: n, height: n, sigma: Double(p.stride) / Double(2 * k))
        let target = side ?? p.imageSize
        return target == n ? smoothed : try HeatMap.resize(smoothed, width: n, height: n, toWidth: target, toHeight: target)
    }

    /// The cell side of the coarse grid maps are drawn on (see ``map(ofImage:scores:preprocessing:side:)``).
    static func cellSize(stride: Int, patchSize: Int, imageSize: Int) -> Int {
        func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }
        let common = gcd(gcd(stride, patchSize), imageSize)
        return (1...common).last { common % $0 == 0 && stride / $0 >= 8 } ?? 1
    }

    /// The `side × side` map (row-major) in which each pixel is the mean score of the
    /// patches covering it.
    ///
    /// With a stride below the patch size, the overlapping windows give a map finer than
    /// the patch grid; every pixel is covered by ``InspectionPreprocessing/scoringOrigins``.
    public static func assemble(patchScores: ArraySlice<Float>, origins: [(y: Int, x: Int)], patchSize: Int, side: Int) -> [Float] {
        averagingOverlaps(origins: Array(origins.prefix(patchScores.count)), patchSize: patchSize, side: side) { patch, _, _ in
            patchScores[patchScores.startIndex + patch]
        }
    }

    /// The `side × side` map (row-major) in which each pixel is the mean, over the patches
    /// covering it, of `value(patch, y, x)`: patch `patch`'s value at row `y` and column
    /// `x` from its origin. Pixels no patch covers are 0; patches are clipped at the edge.
    static func averagingOverlaps(origins: [(y: Int, x: Int)], patchSize: Int, side: Int,
                                  value: (_ patch: Int, _ y: Int, _ x: Int) -> Float) -> [Float] {
        var sum = [Float](repeating: 0, count: side * side), coverage = [Float](repeating: 0, count: side * side)
        for (patch, origin) in origins.enumerated() {
            for y in origin.y..<min(side, origin.y + patchSize) {
                for x in origin.x..<min(side, origin.x + patchSize) {
                    sum[y * side + x] += value(patch, y - origin.y, x - origin.x)
                    coverage[y * side + x] += 1
                }
            }
        }
        return zip(sum, coverage).map { $1 > 0 ? $0 / $1 : 0 }
    }
}
