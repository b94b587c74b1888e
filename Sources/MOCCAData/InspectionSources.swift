import Foundation
import MOCCACore

/// Inspection images decoded and resized to a square once, kept (within a budget) for
/// every later pass, with their masks at the same size.
public final class InspectionImageStore: @unchecked Sendable {
    /// The images, in index order.
    public let images: [InspectionImage]
    /// How they are decoded and resized.
    public let preprocessing: InspectionPreprocessing
    private let cache: DecodedImageCache
    private var originalSizes: [Int: (width: Int, height: Int)] = [:]
    /// Each image's normalisation, computed once: with per-image standardisation it reads
    /// every pixel, which repeated for every patch cut from the image cost a full pass each.
    private var scalings: [Int: (offset: Float, scale: Float)] = [:]
    private let lock = NSLock()

    /// A store over `images`; nothing is decoded until asked for.
    public init(_ images: [InspectionImage], preprocessing: InspectionPreprocessing, cacheBytes: Int = ImageFiles.defaultCacheBytes) {
        self.images = images
        self.preprocessing = preprocessing
        cache = DecodedImageCache(budget: cacheBytes)
    }

    /// The bytes `[C, S, S]` of image `index`, resized to ``InspectionPreprocessing/imageSize``.
    /// - Throws: ``DataError`` naming the file when it cannot be decoded.
    public func pixels(at index: Int) throws -> [UInt8] {
        try cache.pixels(index) {
            let side = preprocessing.imageSize
            let original = try ImageDecoder.decode(path: images[index].path, channels: preprocessing.channels)
            lock.withLock { originalSizes[index] = (original.width, original.height) }
            return try ImageResizer.resize(original, height: side, width: side, filter: preprocessing.filter).pixels
        }
    }

    /// The size of image `index` as stored in its file.
    /// - Throws: ``DataError`` naming the file when it cannot be decoded.
    public func originalSize(at index: Int) throws -> (width: Int, height: Int) {
        if let size = lock.withLock({ originalSizes[index] }) { return size }
        let image = try ImageDecoder.decode(path: images[index].path, channels: preprocessing.channels)
        lock.withLock { originalSizes[index] = (image.width, image.height) }
        return (image.width, image.height)
    }

    /// The image at `index` resized, as an 8-bit image (for overlays in reports).
    public func image(at index: Int) throws -> ImageDecoder.Image {
        let side = preprocessing.imageSize
        return ImageDecoder.Image(width: side, height: side, channels: preprocessing.channels, pixels: try pixels(at: index))
    }

    /// The mask of image `index` at the resized size (or `side`), 1 for defective pixels and 0
    /// elsewhere; all zeros for a defect-free image; nil for a defective image without a mask.
    ///
    /// A mask is resized with the area filter and thresholded at half, so that a defect
    /// keeps its area. It must have its image's size: a mask of another size belongs to
    /// another image or was cropped, and is refused.
    /// - Throws: ``DataError/malformed(path:message:)`` naming both files when the sizes differ.
    public func mask(at index: Int, side: Int? = nil) throws -> [UInt8]? {
        let side = side ?? preprocessing.imageSize
        let image = images[index]
        guard let path = image.mask else { return image.isAnomalous ? nil : [UInt8](repeating: 0, count: side * side) }
        let mask = try ImageDecoder.decode(path: path, channels: 1)
        let original = try originalSize(at: index)
        guard mask.width == original.width, mask.height == original.height else {
            throw DataError.malformed(path: path, message: "the mask is \(mask.width)x\(mask.height) but its image \(image.path) is \(original.width)x\(original.height)")
        }
        let resized = try ImageResizer.resize(mask, height: side, width: side, filter: .area)
        return resized.pixels.map { $0 >= 128 ? 1 : 0 }
    }

    /// One sample per draw: the square at `origin` of image `image`, rotated by `degrees`,
    /// as ``InspectionPreprocessing`` samples it, stacked `[draws.count, C, side, side]`.
    func samples(_ draws: [(image: Int, origin: (y: Int, x: Int), degrees: Double)]) throws -> Tensor {
        let size = preprocessing.sampleShape.reduce(1, *)
        let out = Tensor(zeros: [draws.count] + preprocessing.sampleShape)
        let base = out.unsafeScalarPointer
        for (row, draw) in draws.enumerated() {
            let image = try pixels(at: draw.image)
            let scaling = lock.withLock { scalings[draw.image] } ?? {
                let computed = preprocessing.scaling(of: image)
                lock.withLock { scalings[draw.image] = computed }
                return computed
            }()
            image.withUnsafeBufferPointer {
                preprocessing.sample($0, origin: draw.origin, degrees: draw.degrees, scaling: scaling,
                                     into: UnsafeMutableBufferPointer(start: base + row * size, count: size))
            }
        }
        return out
    }

    /// Decodes every image and mask once, so that a bad file is found before training
    /// rather than hours into it.
    /// - Returns: one message per bad file (its path and what is wrong), empty when all are good.
    public func problems() -> [(index: Int, message: String)] {
        images.indices.compactMap { index in
            do {
                _ = try pixels(at: index)
                let original = try originalSize(at: index)
                if let patch = preprocessing.patchSize, min(original.width, original.height) < patch {
                    throw DataError.malformed(path: images[index].path, message: "the image is \(original.width)x\(original.height), smaller than the \(patch)-pixel patches")
                }
                _ = try mask(at: index)
                return nil
            } catch {
                return (index, "\(error)")
            }
        }
    }
}

/// The training samples of an inspection data set: whole images or random patches,
/// each rotated as ``InspectionPreprocessing/augmentation`` says.
///
/// Sample `i` is drawn from image `i mod n` with its own seeded rotation and crop, so
/// that a pass over any number of samples (the official code draws about 50,000 patches
/// per epoch from a few hundred images) needs only the images in memory, never the
/// samples, and the same seed gives the same samples. The draws are fixed per index:
/// every epoch sees the same samples, in a new order.
public struct InspectionTrainingSamples: SampleSource {
    /// The images drawn from.
    public let store: InspectionImageStore
    /// The number of samples in one pass.
    public let count: Int
    /// The seed of the rotations and crops.
    public let seed: UInt64

    /// `count` samples (by default one per image) drawn from `store`'s images.
    public init(_ store: InspectionImageStore, count: Int? = nil, seed: UInt64) {
        self.store = store
        self.count = count ?? store.images.count
        self.seed = seed
    }

    /// `[C, side, side]`.
    public var sampleShape: [Int] { store.preprocessing.sampleShape }
    /// The image a sample is drawn from.
    public func origin(of index: Int) -> String { store.images[index % store.images.count].path }
    /// The image each sample comes from.
    public var groups: [Int]? { (0..<count).map { $0 % store.images.count } }

    /// The samples at `indices`, drawn afresh from the kept images.
    public func batch(_ indices: [Int]) throws -> Tensor {
        let p = store.preprocessing
        return try store.samples(indices.map { index in
            var generator = RandomGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(index))
            let range = p.imageSize - p.sampleSide
            let origin = range > 0 ? (Int(generator.next() % UInt64(range + 1)), Int(generator.next() % UInt64(range + 1))) : (0, 0)
            var degrees = 0.0
            if let rotation = p.augmentation {
                degrees = rotation.minimumDegrees + Double(generator.nextUniform()) * (rotation.maximumDegrees - rotation.minimumDegrees)
            }
            return (index % store.images.count, origin, degrees)
        })
    }
}

/// The scored samples of inspection images: every image cut into the patches of
/// ``InspectionPreprocessing/scoringOrigins`` (one sample per image for whole images),
/// image by image, without rotation.
public struct InspectionPatches: SampleSource {
    /// The images cut.
    public let store: InspectionImageStore
    /// The top-left corner of each image's patches, the same for every image.
    public let origins: [(y: Int, x: Int)]

    /// The patches of `store`'s images.
    public init(_ store: InspectionImageStore) {
        self.store = store
        origins = store.preprocessing.scoringOrigins
    }

    /// The number of images.
    public var imageCount: Int { store.images.count }
    /// Patches per image.
    public var patchesPerImage: Int { origins.count }
    /// Every patch of every image.
    public var count: Int { imageCount * patchesPerImage }
    /// `[C, side, side]`.
    public var sampleShape: [Int] { store.preprocessing.sampleShape }
    /// Each patch's image index.
    public var groups: [Int]? { (0..<count).map { $0 / patchesPerImage } }
    /// Each patch's image label (0 defect-free, 1 defective).
    public var labels: [Int]? { (0..<count).map { store.images[$0 / patchesPerImage].label } }
    /// The file and the patch's corner.
    public func origin(of index: Int) -> String {
        let corner = origins[index % patchesPerImage]
        return "\(store.images[index / patchesPerImage].path) (patch at y \(corner.y), x \(corner.x))"
    }

    /// The patches at `indices`.
    public func batch(_ indices: [Int]) throws -> Tensor {
        try store.samples(indices.map { (image: $0 / patchesPerImage, origin: origins[$0 % patchesPerImage], degrees: 0) })
    }

    /// Each image's score: the highest score of its patches (the official texture score).
    /// - Parameter patchScores: one score per patch, in sample order.
    public func imageScores(_ patchScores: [Float]) -> [Float] {
        (0..<imageCount).map { image in
            patchScores[(image * patchesPerImage)..<((image + 1) * patchesPerImage)].max() ?? -.infinity
        }
    }
}
