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
        guard normal.count > 0 else { throw DataError.emptyClass("normal", path: "the training data") }
        var result = Preprocessor(globalContrastNormalization: globalContrastNormalization, minimum: .infinity, maximum: -.infinity)
        var buffer = [Float](repeating: 0, count: normal.imageSize)
        for index in 0..<normal.count {
            result.normalise(normal, index: index, into: &buffer)
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
        let scale = 1 / (maximum - minimum)
        let base = out.unsafeScalarPointer
        var buffer = [Float](repeating: 0, count: size)
        for (row, index) in chosen.enumerated() {
            normalise(dataset, index: index, into: &buffer)
            let destination = base + row * size
            for i in 0..<size { destination[i] = (buffer[i] - minimum) * scale }
        }
        return out
    }

    /// Pixels in `[0, 1]`, contrast-normalised when enabled.
    private func normalise(_ dataset: ImageDataset, index: Int, into buffer: inout [Float]) {
        let size = dataset.imageSize
        dataset.pixels.withUnsafeBufferPointer { pixels in
            let start = index * size
            var sum: Float = 0
            for i in 0..<size {
                buffer[i] = Float(pixels[start + i]) / 255
                sum += buffer[i]
            }
            guard globalContrastNormalization else { return }
            let mean = sum / Float(size)
            var absolute: Float = 0
            for i in 0..<size {
                buffer[i] -= mean
                absolute += abs(buffer[i])
            }
            // A constant image has no contrast to normalise: it stays at zero.
            let l1 = absolute / Float(size)
            if l1 > 0 { for i in 0..<size { buffer[i] /= l1 } }
        }
    }
}
