import MOCCATestSupport
import MOCCACore
import MOCCAData
import Testing

@Suite("Contrast normalisation of flat and low-contrast images")
struct PreprocessorFlatImageTests {
    /// One image of `shape` holding `pixels`.
    static func dataset(shape: [Int], pixels: [UInt8]) throws -> ImageDataset {
        try ImageDataset(imageShape: shape, pixels: pixels, labels: [0], classNames: ["only"], sources: ["image"])
    }

    /// The contrast-normalised values before min-max scaling: minimum 0 and maximum 1
    /// make the scaling the identity.
    static func normalised(_ dataset: ImageDataset) -> [Float] {
        Preprocessor(globalContrastNormalization: true, minimum: 0, maximum: 1).apply(dataset).scalars
    }

    /// Summed in Float, the mean of a flat 3×64×64 image came out a little off its value,
    /// and dividing that residual by itself turned every pixel into ±1; a flat image has
    /// no contrast and must stay zero, for every grey level.
    @Test func everyFlatImageNormalisesToZero() throws {
        let shape = [3, 64, 64]
        var flipped: [Int] = []
        for value in 0...255 {
            let out = Self.normalised(try Self.dataset(shape: shape, pixels: [UInt8](repeating: UInt8(value), count: 3 * 64 * 64)))
            if !out.allSatisfy({ $0 == 0 }) { flipped.append(value) }
        }
        #expect(flipped.isEmpty, "flat images of these values did not normalise to zero: \(flipped)")
    }

    /// The same at 3×224×224, where Float sums were off by up to 2e-3 of the mean.
    @Test(arguments: [1, 128, 190, 255])
    func largeFlatImagesNormaliseToZero(value: UInt8) throws {
        let out = Self.normalised(try Self.dataset(shape: [3, 224, 224], pixels: [UInt8](repeating: value, count: 3 * 224 * 224)))
        #expect(out.allSatisfy { $0 == 0 })
    }

    /// A constant image among others still fits finite constants, and fitting on flat
    /// images alone gives a usable (non-empty) range.
    @Test func fittingOnFlatImagesGivesFiniteConstants() throws {
        let flat = try ImageDataset(imageShape: [1, 8, 8], pixels: [UInt8](repeating: 173, count: 64) + [UInt8](repeating: 190, count: 64),
                                    labels: [0, 0], classNames: ["only"], sources: ["a", "b"])
        let fitted = try Preprocessor.fit(on: flat)
        #expect(fitted.minimum == 0 && fitted.maximum == 1)
        #expect(fitted.apply(flat).scalars.allSatisfy { $0 == 0 })
    }

    /// The double-precision reference: x/255 centred, divided by its mean absolute value.
    static func reference(_ pixels: [UInt8]) -> [Double] {
        let x = pixels.map { Double($0) / 255 }
        let mean = x.reduce(0, +) / Double(x.count)
        let l1 = x.map { abs($0 - mean) }.reduce(0, +) / Double(x.count)
        return x.map { ($0 - mean) / l1 }
    }

    /// Real contrast, however low, is still normalised: a checkerboard of 128 and 129
    /// becomes exactly ±1, and one bright pixel on flat grey in a 3×224×224 image (a
    /// contrast of 4e-5 of the mean) matches the double-precision reference.
    @Test func lowContrastImagesStillNormalise() throws {
        let checker = (0..<(3 * 32 * 32)).map { UInt8(($0 % 32 + $0 / 32) % 2 == 0 ? 128 : 129) }
        let out = Self.normalised(try Self.dataset(shape: [3, 32, 32], pixels: checker))
        #expect(isNear(out, checker.map { $0 == 128 ? -1 : 1 }, 1e-4))

        var spot = [UInt8](repeating: 128, count: 3 * 224 * 224)
        for c in 0..<3 { spot[c * 224 * 224 + 100 * 224 + 100] = 255 }
        let normalisedSpot = Self.normalised(try Self.dataset(shape: [3, 224, 224], pixels: spot))
        let reference = Self.reference(spot)
        let worst = zip(normalisedSpot, reference).map { abs(Double($0) - $1) / max(1, abs($1)) }.max() ?? .infinity
        #expect(worst < 1e-4, "largest relative difference \(worst)")
        #expect(normalisedSpot[100 * 224 + 100] > 1000)
    }
}
