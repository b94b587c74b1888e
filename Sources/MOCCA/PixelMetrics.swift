/// Pixel-level metrics of anomaly maps against ground-truth masks, the way industrial
/// inspection benchmarks (MVTec AD) report localisation.
///
/// Every pixel of every test image is one sample: a pixel inside a mask is anomalous,
/// every other pixel (of normal and of defective images alike) is normal.
/// - ``pixel``: AUROC, AUPR, best balanced accuracy and F1 over all pixels, from the
///   same ``ThresholdSweep`` as the image-level ``DetectionMetrics``.
/// - ``pro``: the normalised area under the per-region-overlap curve up to a false
///   positive rate of ``fprLimit`` (Bergmann et al., "The MVTec Anomaly Detection
///   Dataset", IJCV 2021). Pixel AUROC favours large defects, since they hold most
///   anomalous pixels; PRO weighs each defect region equally, however small.
///
/// The definition follows the authors' evaluation code (`mvtec_ad_evaluation`,
/// `generic_util.py`: `compute_pro`, `trapezoid`): regions are the connected components
/// of each mask with scipy's `label` and a 3×3 structure of ones, that is
/// **8-connectivity** (diagonal neighbours join a region); every distinct score is a
/// threshold; the PRO at a threshold is the mean over all regions of all images of
/// `|pixels at or above it ∩ region| / |region|`, and the FPR is the fraction of normal
/// pixels at or above it; the curve runs from (0, 0) and is integrated by the trapezoid
/// rule up to the limit, the last segment cut there by linear interpolation, then
/// divided by the limit.
///
/// Memory: one 8-byte key per pixel, sorted once (262 MB for 500 maps of 256×256), plus
/// one label plane at a time for the connected components; no copies per threshold.
public struct PixelMetrics: Codable, Sendable, Equatable {
    /// The threshold metrics over all pixels: ``DetectionMetrics/auroc`` is the pixel AUROC.
    public var pixel: DetectionMetrics
    /// The area under the PRO curve up to ``fprLimit``, divided by ``fprLimit``: 1 for a
    /// perfect map, about `fprLimit / 2` for random scores.
    public var pro: Double
    /// The false positive rate where the PRO curve's integration stops (MVTec AD: 0.3).
    public var fprLimit: Double
    /// The number of connected defect regions over all masks.
    public var regionCount: Int
    /// The number of pixels inside and outside the masks.
    public var anomalousPixelCount: Int, normalPixelCount: Int

    /// Computes the pixel metrics of `maps` (row-major `height × width` scores, higher
    /// meaning more anomalous) against `masks` of the same size (non-zero: defect).
    ///
    /// The pixel AUROC's standard error (``DetectionMetrics/aurocStandardError``) counts
    /// images, not pixels, as the independent units (Obuchowski's clustered estimator): the
    /// pixels of one map share its image, its defect and the network's view of both.
    /// - Parameter groups: an id per map where maps are not independent of one another
    ///   either (MTD's photos of one tile); the standard error then counts those groups.
    /// - Throws: ``MOCCAError/invalidEvaluation(_:)`` when the counts or sizes disagree,
    ///   a score is not finite, `fprLimit` is not in (0, 1], or the masks hold no defect
    ///   pixel or nothing else.
    public init(maps: [[Float]], masks: [[UInt8]], width: Int, height: Int, fprLimit: Double = 0.3, groups: [Int]? = nil) throws {
        guard maps.count == masks.count, !maps.isEmpty else {
            throw MOCCAError.invalidEvaluation("\(maps.count) anomaly maps for \(masks.count) masks")
        }
        guard width > 0, height > 0, fprLimit > 0, fprLimit <= 1 else {
            throw MOCCAError.invalidEvaluation("maps of \(width)x\(height) pixels, FPR limit \(fprLimit)")
        }
        if let groups, groups.count != maps.count {
            throw MOCCAError.invalidEvaluation("\(groups.count) group ids for \(maps.count) anomaly maps")
        }
        let plane = width * height
        for (index, (map, mask)) in zip(maps, masks).enumerated() {
            guard map.count == plane, mask.count == plane else {
                throw MOCCAError.invalidEvaluation("map \(index) has \(map.count) values and its mask \(mask.count); \(width)x\(height) needs \(plane)")
            }
            guard map.allSatisfy(\.isFinite) else { throw MOCCAError.invalidEvaluation("map \(index) holds a NaN or infinite score") }
        }

        // One key per pixel: the score's order-preserving bits above, the pixel's area below.
        // An area is one map's defect-free pixels or one of its defect regions.
        let mapGroup = groups.map(DetectionMetrics.denseIndices) ?? Array(maps.indices)
        var areas = Areas()
        var keys = [UInt64]()
        keys.reserveCapacity(plane * maps.count)
        for (index, (map, mask)) in zip(maps, masks).enumerated() {
            let (labels, count) = Self.regions(of: mask, width: width, height: height)
            let normal = areas.append(defect: false, group: mapGroup[index])
            for _ in 0..<count { _ = areas.append(defect: true, group: mapGroup[index]) }
            for p in 0..<plane {
                let area = labels[p] == 0 ? normal : normal + Int(labels[p])
                areas.size[area] += 1
                keys.append(UInt64(Self.orderedBits(map[p])) << 32 | UInt64(area))
            }
        }
        let anomalous = zip(areas.size, areas.isDefect).reduce(0) { $0 + ($1.1 ? $1.0 : 0) }
        let normals = keys.count - anomalous, regions = areas.isDefect.filter { $0 }.count
        guard anomalous > 0, normals > 0 else {
            throw MOCCAError.invalidEvaluation("the masks need both defect and normal pixels; got \(anomalous) and \(normals)")
        }
        keys.sort()

        let shares = zip(areas.size, areas.isDefect).map { $1 ? 1 / Double($0) : 0 }
        var sweep = ThresholdSweep(positives: anomalous, negatives: normals)
        var sums = AUROCShareSums(groupCount: (mapGroup.max() ?? 0) + 1)
        var overlapSum = 0.0
        var curve = PROIntegral(limit: fprLimit)
        var i = keys.count
        while i > 0 {
            // One group of tied scores, from the highest down.
            let score = keys[i - 1] >> 32, end = i
            var tp = 0, fp = 0
            while i > 0 && keys[i - 1] >> 32 == score {
                let area = Int(keys[i - 1] & 0xFFFF_FFFF)
                if areas.isDefect[area] { tp += 1; overlapSum += shares[area] } else { fp += 1 }
                i -= 1
            }
            sweep.lower(past: tp, fp)
            curve.add(fpr: sweep.falsePositiveRate, pro: overlapSum / Double(regions))
            let share = sweep.sharesOfTied(positives: tp, negatives: fp)
            for j in i..<end {
                let area = Int(keys[j] & 0xFFFF_FFFF), defect = areas.isDefect[area]
                sums.add(defect ? share.positive : share.negative, positive: defect, group: areas.group[area])
            }
        }
        pixel = sweep.metrics
        pixel.aurocStandardError = sums.standardError(auroc: pixel.auroc)
        pixel.aurocGroupCount = sums.groupCount
        pro = curve.area / fprLimit
        self.fprLimit = fprLimit
        regionCount = regions
        anomalousPixelCount = anomalous
        normalPixelCount = normals
    }

    /// The areas of all maps: each map's defect-free pixels, then its defect regions.
    private struct Areas {
        var size: [Int] = [], isDefect: [Bool] = [], group: [Int] = []

        /// Adds an empty area and returns its number.
        mutating func append(defect: Bool, group: Int) -> Int {
            size.append(0)
            isDefect.append(defect)
            self.group.append(group)
            return size.count - 1
        }
    }

    /// The connected components of the non-zero pixels of `mask` under 8-connectivity,
    /// numbered from 1 in the raster order of their first pixel (as scipy's `label`);
    /// 0 marks the background.
    public static func regions(of mask: [UInt8], width: Int, height: Int) -> (labels: [Int32], count: Int) {
        var labels = [Int32](repeating: 0, count: mask.count)
        var count: Int32 = 0
        var stack: [Int] = []
        for start in 0..<min(mask.count, width * height) where mask[start] != 0 && labels[start] == 0 {
            count += 1
            labels[start] = count
            stack.append(start)
            while let p = stack.popLast() {
                let x = p % width, y = p / width
                for ny in max(y - 1, 0)...min(y + 1, height - 1) {
                    for nx in max(x - 1, 0)...min(x + 1, width - 1) {
                        let q = ny * width + nx
                        if mask[q] != 0 && labels[q] == 0 {
                            labels[q] = count
                            stack.append(q)
                        }
                    }
                }
            }
        }
        return (labels, Int(count))
    }

    /// The bits of `value` as an unsigned number that sorts as the floats do (−0 as +0).
    static func orderedBits(_ value: Float) -> UInt32 {
        let bits = (value == 0 ? Float(0) : value).bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }
}

/// The trapezoid area under a PRO curve fed point by point in order of rising FPR, from
/// (0, 0), up to `limit`: MVTec AD's `trapezoid(x, y, x_max)`, which cuts the segment
/// crossing the limit by linear interpolation.
struct PROIntegral {
    let limit: Double
    private(set) var area = 0.0
    private var previous = (fpr: 0.0, pro: 0.0)
    private var done = false

    init(limit: Double) { self.limit = limit }

    /// Adds the next point of the curve; values are clipped to 1 as MVTec's code does
    /// against rounding.
    mutating func add(fpr: Double, pro: Double) {
        guard !done else { return }
        let x = min(fpr, 1), y = min(pro, 1)
        if x <= limit {
            area += (x - previous.fpr) * (y + previous.pro) / 2
            previous = (x, y)
        } else {
            if previous.fpr < limit {
                let atLimit = previous.pro + (y - previous.pro) * (limit - previous.fpr) / (x - previous.fpr)
                area += (limit - previous.fpr) * (atLimit + previous.pro) / 2
            }
            done = true
        }
    }
}
