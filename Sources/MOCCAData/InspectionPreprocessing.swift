import Foundation

/// How inspection images become samples: resized to a square, scaled to `[-1, 1]`,
/// optionally rotated, and cut into patches. Stored with a detector, so that scoring sees
/// what training saw.
///
/// The official MOCCA code's two regimes are the two presets:
/// - ``object(channels:size:rotationInvariant:)``: the whole image at 128 px; the
///   rotation-invariant categories are reflect-padded by a quarter of the side, rotated by up
///   to ±45° and centre-cropped back.
/// - ``texture(channels:size:patchSize:)``: the image at 512 px, reflect-padded by a quarter,
///   rotated by 0–45° and centre-cropped back, then cut into random 64×64 crops for training
///   and into the grid of non-overlapping 64×64 patches for scoring; an image's score is its
///   highest patch score.
///
/// Rotation is computed directly on the output pixels: each is mapped back through the
/// rotation into the resized image and interpolated bilinearly, with reflection at the
/// borders. That equals pad–rotate–crop wherever the rotation stays inside the padding
/// (a quarter of the side covers every angle up to 45°), and costs only the crop's pixels.
/// (torchvision's `RandomRotation` interpolates nearest by default; bilinear avoids the
/// jagged edges that nearest leaves, which are not in the test images.)
public struct InspectionPreprocessing: Codable, Sendable, Equatable {
    /// Random rotation about the image centre, applied to training samples only.
    public struct Augmentation: Codable, Sendable, Equatable {
        /// The smallest and largest angle drawn, in degrees (uniformly).
        public var minimumDegrees: Double, maximumDegrees: Double

        /// A rotation by a uniformly drawn angle in `minimumDegrees...maximumDegrees`.
        public init(minimumDegrees: Double, maximumDegrees: Double) {
            self.minimumDegrees = minimumDegrees
            self.maximumDegrees = maximumDegrees
        }
    }

    /// How pixel values are scaled.
    public enum Normalization: String, Codable, Sendable, CaseIterable {
        /// The official code's: `(v/255 − 0.5) / 0.5`, into `[-1, 1]`, the same for every image.
        case fixed
        /// Each image standardised by its own mean and standard deviation (after the
        /// resize), so that illumination and contrast that vary from photo to photo do not
        /// dominate (MTD's tiles are photographed under very different lighting).
        case image
    }

    /// Channels decoded to (1 grey, 3 RGB): the network's input channels.
    public var channels: Int
    /// The side images are resized to, in pixels.
    public var imageSize: Int
    /// The side of the patches trained and scored on; nil for whole images.
    public var patchSize: Int?
    /// The step between scored patches; nil for non-overlapping patches (the patch size).
    public var scoringStride: Int?
    /// The training rotation, if any.
    public var augmentation: Augmentation?
    /// The resize filter.
    public var filter: ImageResizer.Filter
    /// How pixel values are scaled; nil is ``Normalization/fixed``.
    public var normalization: Normalization?

    /// A preprocessing from its parts; see ``validate()``.
    public init(channels: Int, imageSize: Int, patchSize: Int? = nil, scoringStride: Int? = nil,
                augmentation: Augmentation? = nil, filter: ImageResizer.Filter = .bilinear) {
        self.channels = channels
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.scoringStride = scoringStride
        self.augmentation = augmentation
        self.filter = filter
    }

    /// The official code's objects: whole images at `size` (128), rotated by up to ±45° for
    /// rotation-invariant categories.
    public static func object(channels: Int, size: Int = 128, rotationInvariant: Bool = false) -> InspectionPreprocessing {
        InspectionPreprocessing(channels: channels, imageSize: size,
                                augmentation: rotationInvariant ? Augmentation(minimumDegrees: -45, maximumDegrees: 45) : nil)
    }

    /// The official code's textures: images at `size` (512), rotated by 0–45° for
    /// training, cut into `patchSize` (64) patches.
    public static func texture(channels: Int, size: Int = 512, patchSize: Int = 64) -> InspectionPreprocessing {
        InspectionPreprocessing(channels: channels, imageSize: size, patchSize: patchSize,
                                augmentation: Augmentation(minimumDegrees: 0, maximumDegrees: 45))
    }

    /// The side of one sample: the patch, or the whole image.
    public var sampleSide: Int { patchSize ?? imageSize }
    /// `[C, side, side]`.
    public var sampleShape: [Int] { [channels, sampleSide, sampleSide] }
    /// The step between scored patches.
    public var stride: Int { scoringStride ?? sampleSide }

    /// Throws ``DataError/malformed(path:message:)`` naming the first bad field: a patch
    /// larger than the image is the common one.
    public func validate() throws {
        func fail(_ message: String) -> DataError { .malformed(path: "the inspection preprocessing", message: message) }
        guard channels == 1 || channels == 3 else { throw fail("channels must be 1 or 3, got \(channels)") }
        guard (8...8192).contains(imageSize) else { throw fail("the image size must be 8 to 8192 pixels, got \(imageSize)") }
        if let patchSize {
            guard patchSize >= 8 else { throw fail("the patch size must be at least 8 pixels, got \(patchSize)") }
            guard patchSize <= imageSize else {
                throw fail("the patch size \(patchSize) is larger than the \(imageSize)-pixel images it is cut from; lower the patch size or raise the image size")
            }
        }
        guard (1...sampleSide).contains(stride) else { throw fail("the scoring stride must be 1 to \(sampleSide) pixels, got \(stride)") }
        if let augmentation {
            guard augmentation.minimumDegrees <= augmentation.maximumDegrees, abs(augmentation.minimumDegrees) <= 360, abs(augmentation.maximumDegrees) <= 360 else {
                throw fail("the rotation range \(augmentation.minimumDegrees)...\(augmentation.maximumDegrees) degrees is not a range within ±360")
            }
        }
    }

    /// The top-left corners of the scored patches of one image, row by row: every
    /// ``stride`` pixels, plus a last row and column flush with the border when the stride
    /// does not reach it, so that every pixel is covered.
    public var scoringOrigins: [(y: Int, x: Int)] {
        let positions = Self.positions(extent: imageSize, window: sampleSide, stride: stride)
        return positions.flatMap { y in positions.map { x in (y, x) } }
    }

    static func positions(extent: Int, window: Int, stride: Int) -> [Int] {
        var result = Array(Swift.stride(from: 0, through: extent - window, by: stride))
        if let last = result.last, last != extent - window { result.append(extent - window) }
        return result
    }

    /// The offset and scale that ``normalization`` applies to the pixels of one resized
    /// image: a sample value is `(v − offset) · scale`.
    func scaling(of pixels: [UInt8]) -> (offset: Float, scale: Float) {
        guard normalization == .image, !pixels.isEmpty else { return (127.5, 1 / 127.5) }
        var sum = 0.0, squares = 0.0
        for v in pixels { (sum, squares) = (sum + Double(v), squares + Double(v) * Double(v)) }
        let mean = sum / Double(pixels.count)
        // At least one grey level, so that a flat image stays flat instead of exploding.
        let deviation = max((squares / Double(pixels.count) - mean * mean).squareRoot(), 1)
        return (Float(mean), Float(1 / deviation))
    }

    /// Writes one sample into `destination` (`C × side × side` floats, `(v − offset) ·
    /// scale`): the square at `origin` of the resized image `pixels` (`C × imageSize ×
    /// imageSize` bytes), rotated by `degrees` about the image centre.
    func sample(_ pixels: UnsafeBufferPointer<UInt8>, origin: (y: Int, x: Int), degrees: Double,
                scaling: (offset: Float, scale: Float) = (127.5, 1 / 127.5), into destination: UnsafeMutableBufferPointer<Float>) {
        let side = sampleSide, n = imageSize, plane = n * n
        @inline(__always) func scaled(_ value: Float) -> Float { (value - scaling.offset) * scaling.scale }
        guard degrees != 0 else {
            for c in 0..<channels {
                for i in 0..<side {
                    let source = c * plane + (origin.y + i) * n + origin.x, target = (c * side + i) * side
                    for j in 0..<side { destination[target + j] = scaled(Float(pixels[source + j])) }
                }
            }
            return
        }
        let radians = degrees * .pi / 180
        let (cosine, sine) = (cos(radians), sin(radians))
        let centre = Double(n) / 2
        for i in 0..<side {
            for j in 0..<side {
                // Pixel centres, rotated about the image centre, back to pixel-index coordinates.
                let dy = Double(origin.y + i) + 0.5 - centre, dx = Double(origin.x + j) + 0.5 - centre
                let y = cosine * dy - sine * dx + centre - 0.5, x = sine * dy + cosine * dx + centre - 0.5
                let y0 = Int(y.rounded(.down)), x0 = Int(x.rounded(.down))
                let fy = Float(y - Double(y0)), fx = Float(x - Double(x0))
                let (ya, yb) = (Self.reflect(y0, n), Self.reflect(y0 + 1, n))
                let (xa, xb) = (Self.reflect(x0, n), Self.reflect(x0 + 1, n))
                for c in 0..<channels {
                    let base = c * plane
                    let top = Float(pixels[base + ya * n + xa]) * (1 - fx) + Float(pixels[base + ya * n + xb]) * fx
                    let bottom = Float(pixels[base + yb * n + xa]) * (1 - fx) + Float(pixels[base + yb * n + xb]) * fx
                    destination[(c * side + i) * side + j] = scaled(top * (1 - fy) + bottom * fy)
                }
            }
        }
    }

    /// `index` reflected into `0..<count` without repeating the border pixel (PyTorch's
    /// `reflect` padding), for any distance outside.
    static func reflect(_ index: Int, _ count: Int) -> Int {
        guard count > 1 else { return 0 }
        let period = 2 * (count - 1)
        var i = index % period
        if i < 0 { i += period }
        return i < count ? i : period - i
    }
}
