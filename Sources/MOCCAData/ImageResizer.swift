/// Resizes planar 8-bit images (``ImageDecoder/Image``) with an antialiasing filter.
///
/// The filter is separable: weights are computed once per axis, then columns are
/// resampled into a `Double` buffer and rows from it, so each output pixel costs a few
/// multiply-adds per axis and nothing is allocated per pixel. The buffer holds
/// `channels × height × input width` doubles.
///
/// Output samples are the filter's exact value rounded half up, `⌊v + 1/2⌋`. Pillow and
/// PyTorch's uint8 path round an 8-bit intermediate as well, so they differ from this by
/// one grey level in 7–19% of samples (see `ImageResizerTests`); rounding once keeps `.area` equal to the exact
/// area means. Sums run in `Double`, and a value within `1e-9` below a half counts as
/// the half: rounding error puts exact ties such as `(5a + b) / 6 = n + 1/2` a few ulps
/// either side, while a genuine value that close to a half would need a denominator
/// beyond 10⁹, far more than any weights here have.
public enum ImageResizer {
    /// How output pixels are computed from input pixels.
    public enum Filter: String, Codable, Sendable, CaseIterable {
        /// The area-weighted mean of the input pixels an output pixel covers, fractions of
        /// pixels included: exact for any ratio, and the usual choice when downsampling
        /// (OpenCV's `INTER_AREA`). Pillow's `BOX` agrees for integer ratios only, since
        /// it gives a partly covered pixel the weight 0 or 1 by where its centre falls.
        /// When upsampling, pixels repeat, blended where an input pixel's edge crosses
        /// an output pixel.
        case area
        /// The triangle filter with pixel centres at half-integers: plain bilinear
        /// interpolation when upsampling, and widened by the ratio (antialiased) when
        /// downsampling, as Pillow's `BILINEAR` and PyTorch's
        /// `interpolate(mode: "bilinear", antialias: True, align_corners: False)` do.
        case bilinear
    }

    /// `image` resized to `height × width` with `filter`.
    /// - Parameter source: the image's origin, to name in errors.
    /// - Throws: ``DataError/malformed(path:message:)`` when a size is not positive or the
    ///   image's pixels are not `channels × height × width` bytes.
    public static func resize(_ image: ImageDecoder.Image, height: Int, width: Int, filter: Filter,
                              source: String = "image in memory") throws -> ImageDecoder.Image {
        guard height > 0, width > 0 else {
            throw DataError.malformed(path: source, message: "cannot resize to \(width)x\(height): sizes must be at least 1")
        }
        guard image.width > 0, image.height > 0, image.channels > 0,
              image.pixels.count == image.channels * image.height * image.width else {
            throw DataError.malformed(path: source, message: "\(image.pixels.count) bytes are not an image of \(image.channels) channels of \(image.width)x\(image.height) pixels")
        }
        if height == image.height && width == image.width { return image }
        let columns = AxisWeights(input: image.height, output: height, filter: filter)
        let rows = AxisWeights(input: image.width, output: width, filter: filter)
        let channels = image.channels, inHeight = image.height, inWidth = image.width
        // Columns first: each intermediate row is a weighted sum of whole input rows, a
        // contiguous loop that vectorises, and when downsampling it leaves the short
        // per-pixel dot products of the second pass only `height` rows to do.
        var intermediate = [Double](repeating: 0, count: channels * height * inWidth)
        var out = [UInt8](repeating: 0, count: channels * height * width)
        image.pixels.withUnsafeBufferPointer { input in
            intermediate.withUnsafeMutableBufferPointer { middle in
                columns.withBuffers { first, count, weights, stride in
                    for c in 0..<channels {
                        for y in 0..<height {
                            // In blocks of 512 columns, so the sums being built stay in
                            // the L1 cache while every contributing row is added.
                            for block in Swift.stride(from: 0, to: inWidth, by: 512) {
                                let to = (c * height + y) * inWidth + block, length = min(512, inWidth - block)
                                for k in 0..<count[y] {
                                    let weight = weights[y * stride + k]
                                    let from = (c * inHeight + first[y] + k) * inWidth + block
                                    for x in 0..<length { middle[to + x] += weight * Double(input[from + x]) }
                                }
                            }
                        }
                    }
                }
                // Along rows: a dot product per output pixel, then the one rounding.
                rows.withBuffers { first, count, weights, stride in
                    out.withUnsafeMutableBufferPointer { output in
                        for line in 0..<(channels * height) {
                            let from = line * inWidth, to = line * width
                            for x in 0..<width {
                                let start = from + first[x], base = x * stride
                                var sum: Double = 0
                                for k in 0..<count[x] { sum += weights[base + k] * middle[start + k] }
                                output[to + x] = UInt8(min(max(sum + (0.5 + 1e-9), 0), 255).rounded(.down))
                            }
                        }
                    }
                }
            }
        }
        return ImageDecoder.Image(width: width, height: height, channels: channels, pixels: out)
    }

    /// The weights that make each output sample of one axis from a run of input samples.
    struct AxisWeights {
        /// The first input sample of each output sample.
        var first: [Int] = []
        /// How many input samples each output sample uses.
        var count: [Int] = []
        /// `stride` weights per output sample (the first `count` used), summing to 1.
        var weights: [Double] = []
        /// The largest `count`.
        var stride = 0

        /// Runs `body` on unchecked views of `first`, `count` and `weights`, and `stride`.
        func withBuffers(_ body: (UnsafeBufferPointer<Int>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<Double>, Int) -> Void) {
            first.withUnsafeBufferPointer { first in
                count.withUnsafeBufferPointer { count in
                    weights.withUnsafeBufferPointer { body(first, count, $0, stride) }
                }
            }
        }

        /// The weights for resampling `input` samples to `output` samples.
        init(input: Int, output: Int, filter: Filter) {
            let runs = (0..<output).map { i in
                filter == .area ? Self.area(i, input: input, output: output) : Self.triangle(i, input: input, output: output)
            }
            stride = runs.map(\.weights.count).max() ?? 0
            weights = [Double](repeating: 0, count: output * stride)
            for (i, run) in runs.enumerated() {
                first.append(run.first)
                count.append(run.weights.count)
                let total = run.weights.reduce(0, +)
                for (k, weight) in run.weights.enumerated() { weights[i * stride + k] = weight / total }
            }
        }

        /// Output sample `i` covers input `[i · input / output, (i + 1) · input / output)`;
        /// each input sample weighs what it has of that interval. Measured in units of
        /// `1 / output` input samples, every overlap is a whole number, so the weights are
        /// exact ratios.
        static func area(_ i: Int, input: Int, output: Int) -> (first: Int, weights: [Double]) {
            let low = i * input, high = (i + 1) * input
            let first = low / output, last = (high - 1) / output
            let weights = (first...last).map { j in Double(min(high, (j + 1) * output) - max(low, j * output)) }
            return (first, weights)
        }

        /// Pillow's resampling weights for the triangle filter: centred on output sample
        /// `i`'s centre in input coordinates, widened by the ratio when downsampling,
        /// cut at the image's edges (then renormalised).
        static func triangle(_ i: Int, input: Int, output: Int) -> (first: Int, weights: [Double]) {
            let scale = Double(input) / Double(output)
            let widening = max(scale, 1), support = widening
            let centre = (Double(i) + 0.5) * scale
            let first = max(Int((centre - support + 0.5).rounded(.down)), 0)
            let end = min(Int((centre + support + 0.5).rounded(.down)), input)
            let weights = (first..<max(end, first + 1)).map { j in max(0, 1 - abs((Double(j) - centre + 0.5) / widening)) }
            // A run whose weights are all zero cannot happen for a triangle of support >= 1;
            // should rounding make one, the nearest sample stands in.
            if weights.reduce(0, +) > 0 { return (first, weights) }
            return (min(max(Int(centre), 0), input - 1), [1])
        }
    }
}
