import Foundation
import MOCCAData

/// Operations on anomaly maps (row-major `height × width` floats) that localisation
/// needs: bringing a coarse map to the image's size, smoothing it as MVTec AD methods do,
/// and showing it as a heat map over the image.
///
/// The conventions are those of the usual Python code, so that maps agree with it:
/// ``resize(_:width:height:toWidth:toHeight:)`` is PyTorch's bilinear
/// `interpolate(align_corners=False)`, ``smooth(_:width:height:sigma:)`` is scipy's
/// `gaussian_filter(sigma, truncate=4, mode="reflect")`.
public enum HeatMap {
    /// `map` resized to `toWidth × toHeight` by bilinear interpolation with pixel centres
    /// aligned (a pixel's centre is at `i + ½`, sources clamped to the edge pixels).
    /// - Throws: ``MOCCAError/invalidData(_:)`` when `map` does not hold `width × height`
    ///   values or a size is not positive.
    public static func resize(_ map: [Float], width: Int, height: Int, toWidth: Int, toHeight: Int) throws -> [Float] {
        try check(map, width: width, height: height)
        guard toWidth > 0, toHeight > 0 else { throw MOCCAError.invalidData("cannot resize an anomaly map to \(toWidth)x\(toHeight)") }
        // The two source pixels and the weight of the second, per output column or row.
        func taps(_ count: Int, _ source: Int) -> [(Int, Int, Float)] {
            let scale = Double(source) / Double(count)
            return (0..<count).map { i in
                let position = max((Double(i) + 0.5) * scale - 0.5, 0)
                let first = min(Int(position), source - 1)
                return (first, min(first + 1, source - 1), Float(position - Double(first)))
            }
        }
        let columns = taps(toWidth, width), rows = taps(toHeight, height)
        var out = [Float](repeating: 0, count: toWidth * toHeight)
        for (y, (y0, y1, fy)) in rows.enumerated() {
            for (x, (x0, x1, fx)) in columns.enumerated() {
                // a + (b − a)·f, exact where a = b: a constant map stays constant.
                let top = map[y0 * width + x0] + (map[y0 * width + x1] - map[y0 * width + x0]) * fx
                let bottom = map[y1 * width + x0] + (map[y1 * width + x1] - map[y1 * width + x0]) * fx
                out[y * toWidth + x] = top + (bottom - top) * fy
            }
        }
        return out
    }

    /// `map` convolved with a Gaussian of standard deviation `sigma` pixels, separably
    /// (rows, then columns), the kernel cut at 4 σ and normalised to sum 1, the border
    /// continued by reflection (`d c b a | a b c d | d c b a`). `sigma` 0 returns the map.
    /// - Throws: ``MOCCAError/invalidData(_:)`` for a map of the wrong size or a negative
    ///   or non-finite `sigma`.
    public static func smooth(_ map: [Float], width: Int, height: Int, sigma: Double) throws -> [Float] {
        try check(map, width: width, height: height)
        guard sigma.isFinite, sigma >= 0, sigma <= 1000 else { throw MOCCAError.invalidData("Gaussian sigma \(sigma) pixels") }
        guard sigma > 0 else { return map }
        let radius = Int(4 * sigma + 0.5)
        var kernel = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
        let total = kernel.reduce(0, +)
        kernel = kernel.map { $0 / total }
        // A coordinate outside 0..<count, reflected back in (repeatedly, for tiny maps).
        func reflect(_ i: Int, _ count: Int) -> Int {
            let period = 2 * count, r = ((i % period) + period) % period
            return r < count ? r : period - 1 - r
        }
        func pass(_ input: [Float], length: Int, lines: Int, index: (Int, Int) -> Int) -> [Float] {
            var output = input
            for line in 0..<lines {
                for i in 0..<length {
                    var sum = 0.0
                    for (k, weight) in kernel.enumerated() {
                        sum += weight * Double(input[index(line, reflect(i + k - radius, length))])
                    }
                    output[index(line, i)] = Float(sum)
                }
            }
            return output
        }
        let rows = pass(map, length: width, lines: height) { $0 * width + $1 }
        return pass(rows, length: height, lines: width) { $1 * width + $0 }
    }

    /// The colour of `t` in 0...1 (clamped) on the inferno colour map (matplotlib's,
    /// from Smith and van der Walt): black through purple and orange to pale yellow,
    /// perceptually uniform and readable in grey, interpolated between ten of its colours.
    public static func colour(_ t: Float) -> (red: UInt8, green: UInt8, blue: UInt8) {
        let stops: [(Float, Float, Float)] = [
            (0, 0, 4), (27, 12, 65), (74, 12, 107), (120, 28, 109), (165, 44, 96),
            (207, 68, 70), (237, 105, 37), (251, 155, 6), (247, 209, 61), (252, 255, 164),
        ]
        let position = (t.isFinite ? min(max(t, 0), 1) : 0) * Float(stops.count - 1)
        let i = min(Int(position), stops.count - 2), f = position - Float(i)
        let (a, b) = (stops[i], stops[i + 1])
        func mix(_ x: Float, _ y: Float) -> UInt8 { UInt8((x + (y - x) * f).rounded()) }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// The colour of a ground-truth contour: green, which the inferno map never takes.
    public static let contourColour: (red: UInt8, green: UInt8, blue: UInt8) = (0, 255, 0)

    /// An RGB picture of `map` over `image`: each pixel's value placed in `range` (values
    /// outside clamped) as `t` in 0...1 and coloured by ``colour(_:)``, blended over the
    /// image with weight `opacity · (0.3 + 0.7 t)`, so that where the map is low the image
    /// shows through and where it is high the heat map dominates (`opacity` 0: the image
    /// alone; 1: the heat map alone at the top of the range). With a `mask` (non-zero:
    /// defect), the mask's outline is drawn in ``contourColour`` just outside it (the
    /// pixels outside with a 4-neighbour inside), so that the heat over a thin defect
    /// stays visible; along the image's edge the outline is open.
    /// - Throws: ``MOCCAError/invalidData(_:)`` when the map or mask is not the image's
    ///   size, the image is not grey or RGB, or `opacity` is outside 0...1.
    public static func overlay(_ map: [Float], range: ClosedRange<Float>, on image: ImageDecoder.Image,
                               mask: [UInt8]? = nil, opacity: Float = 0.5) throws -> ImageDecoder.Image {
        let (width, height) = (image.width, image.height)
        try check(map, width: width, height: height)
        let plane = width * height
        guard image.channels == 1 || image.channels == 3, image.pixels.count == plane * image.channels else {
            throw MOCCAError.invalidData("the image under a heat map must be grey or RGB bytes of \(width)x\(height)")
        }
        guard mask.map({ $0.count == plane }) ?? true else {
            throw MOCCAError.invalidData("a \(width)x\(height) heat map needs a mask of \(plane) pixels, not \(mask?.count ?? 0)")
        }
        guard opacity >= 0, opacity <= 1 else { throw MOCCAError.invalidData("heat-map opacity \(opacity) is outside 0...1") }
        let span = range.upperBound - range.lowerBound
        var out = [UInt8](repeating: 0, count: 3 * plane)
        for p in 0..<plane {
            let t = span > 0 && map[p].isFinite ? min(max((map[p] - range.lowerBound) / span, 0), 1) : 0
            let heat = colour(t), weight = opacity * (0.3 + 0.7 * t)
            var rgb = [heat.red, heat.green, heat.blue]
            if let mask, mask[p] == 0, touches(p, mask, width: width, height: height) {
                rgb = [contourColour.red, contourColour.green, contourColour.blue]
            } else {
                for c in 0..<3 {
                    let base = Float(image.pixels[(image.channels == 3 ? c : 0) * plane + p])
                    rgb[c] = UInt8((base * (1 - weight) + Float(rgb[c]) * weight).rounded())
                }
            }
            for c in 0..<3 { out[c * plane + p] = rgb[c] }
        }
        return ImageDecoder.Image(width: width, height: height, channels: 3, pixels: out)
    }

    /// Whether pixel `p` has a 4-neighbour in the mask.
    private static func touches(_ p: Int, _ mask: [UInt8], width: Int, height: Int) -> Bool {
        let x = p % width, y = p / width
        return (x > 0 && mask[p - 1] != 0) || (x < width - 1 && mask[p + 1] != 0)
            || (y > 0 && mask[p - width] != 0) || (y < height - 1 && mask[p + width] != 0)
    }

    /// Throws unless `map` holds `width × height` values, both positive.
    private static func check(_ map: [Float], width: Int, height: Int) throws {
        let (count, overflow) = width.multipliedReportingOverflow(by: height)
        guard width > 0, height > 0, !overflow, map.count == count else {
            throw MOCCAError.invalidData("an anomaly map of \(map.count) values is not \(width)x\(height)")
        }
    }
}
