import MOCCACore

/// The preprocessing of Deep SVDD and MOCCA: pixels scaled to `[0, 1]`, per-sample global
/// contrast normalisation with the L1 norm, then min-max scaling with the minimum and
/// maximum of the normal class's training data.
///
/// `x ← (x − mean(x)) / mean(|x − mean(x)|)`, then `x ← (x − min) / (max − min)`.
/// The constants are fitted once on the normal training images and stored with a
/// detector, so scoring applies exactly the transformation training saw.
public struct Preprocessor: Codable, Sendable, Equatable {
    /// Whether to apply global contrast normalisation.
    public var globalContrastNormalization: Bool
    /// The minimum after contrast normalisation over the normal training data.
    public var minimum: Float
    /// The maximum after contrast normalisation over the normal training data.
    public var maximum: Float

    /// A preprocessor with the given constants (the defaults make the min-max scaling the identity).
    public init(globalContrastNormalization: Bool = true, minimum: Float = 0, maximum: Float = 1) {
        self.globalContrastNormalization = globalContrastNormalization
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Fits the min-max constants on the normal training images.
    /// - Throws: ``DataError/emptyClass(_:path:)`` when there are no images.
    public static func fit(on normal: ImageDataset, globalContrastNormalization: Bool = true) throws -> Preprocessor {
        try fit(count: normal.count, imageSize: normal.imageSize, globalContrastNormalization: globalContrastNormalization) { index, body in
            normal.pixels.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[(index * normal.imageSize)..<((index + 1) * normal.imageSize)])) }
        }
    }

    /// Fits the min-max constants on `count` images of `imageSize` bytes each, which
    /// `image(index, body)` hands to `body` one at a time (decoded from files, say), so
    /// that they need not all be in memory.
    public static func fit(count: Int, imageSize: Int, globalContrastNormalization: Bool = true,
                           image: (Int, (UnsafeBufferPointer<UInt8>) -> Void) throws -> Void) throws -> Preprocessor {
        guard count > 0 else { throw DataError.emptyClass("normal", path: "the training data") }
        var result = Preprocessor(globalContrastNormalization: globalContrastNormalization, minimum: .infinity, maximum: -.infinity)
        var buffer = [Float](repeating: 0, count: imageSize)
        for index in 0..<count {
            try image(index) { pixels in
                buffer.withUnsafeMutableBufferPointer { result.normalise(pixels, into: $0) }
            }
            for value in buffer {
                result.minimum = min(result.minimum, value)
                result.maximum = max(result.maximum, value)
            }
        }
        if result.maximum <= result.minimum { result.maximum = result.minimum + 1 }
        return result
    }

    /// The preprocessed images `[N, C, H, W]` of `dataset` (all, or those at `indices`).
    public func apply(_ dataset: ImageDataset, indices: [Int]? = nil) -> Tensor {
        let chosen = indices ?? Array(0..<dataset.count)
        let size = dataset.imageSize
        let out = Tensor(zeros: [chosen.count] + dataset.imageShape)
        let base = out.unsafeScalarPointer
        dataset.pixels.withUnsafeBufferPointer { pixels in
            for (row, index) in chosen.enumerated() {
                apply(UnsafeBufferPointer(rebasing: pixels[(index * size)..<((index + 1) * size)]),
                      into: UnsafeMutableBufferPointer(start: base + row * size, count: size))
            }
        }
        return out
    }

    /// Preprocesses one image's bytes into `destination` (as many floats as bytes).
    public func apply(_ pixels: UnsafeBufferPointer<UInt8>, into destination: UnsafeMutableBufferPointer<Float>) {
        normalise(pixels, into: destination)
        let scale = 1 / (maximum - minimum)
        for i in destination.indices { destination[i] = (destination[i] - minimum) * scale }
    }

    /// The smallest contrast normalised, relative to the image's mean intensity (or to
    /// one grey level, `1/255`, for darker images): an image with less is flat and left
    /// at zero.
    ///
    /// Summed in `Float` one sample at a time, a flat image's mean is off by up to 2e-4
    /// of itself for 3×64×64 images and 2e-3 for 3×224×224; the division then blew that
    /// residual up to ±1 everywhere. Sums are now in `Double`, which leaves a flat image
    /// exactly zero, and this threshold guards against what rounding remains. `1e-5` is
    /// far below real contrast: one pixel of full contrast in a 3×224×224 mid-grey image
    /// has a contrast of 4e-5 of the mean.
    public static let minimumRelativeContrast: Float = 1e-5

    /// Pixels in `[0, 1]`, contrast-normalised when enabled.
    private func normalise(_ pixels: UnsafeBufferPointer<UInt8>, into buffer: UnsafeMutableBufferPointer<Float>) {
        let size = pixels.count
        // Sums in Double: in Float, rounding gives a flat image a spurious contrast.
        var sum: Double = 0
        for i in 0..<size {
            buffer[i] = Float(pixels[i]) / 255
            sum += Double(buffer[i])
        }
        guard globalContrastNormalization else { return }
        // Centred in Double too: in a low-contrast image the deviations are tiny
        // differences of nearly equal values, which Float rounds by tenths of a percent.
        let mean = sum / Double(size)
        var absolute: Double = 0
        for i in 0..<size {
            let deviation = Double(buffer[i]) - mean
            buffer[i] = Float(deviation)
            absolute += abs(deviation)
        }
        // A flat image has no contrast to normalise: it stays at zero.
        let l1 = Float(absolute / Double(size))
        if l1 > Self.minimumRelativeContrast * max(Float(mean), 1 / 255) {
            for i in 0..<size { buffer[i] /= l1 }
        } else {
            for i in 0..<size { buffer[i] = 0 }
        }
    }
}
