import MOCCACore

/// Decoded images with their labels, stored as 8-bit pixels until preprocessing.
///
/// Pixels are row-major `[N, C, H, W]` bytes: a CIFAR-10 training set is 150 MB this
/// way and four times that as floats, so conversion to floats is left to
/// ``Preprocessor``, once per run, for the images actually used.
public struct ImageDataset: Sendable {
    /// `[C, H, W]` of every image.
    public let imageShape: [Int]
    /// All pixels, image after image.
    public let pixels: [UInt8]
    /// The class index of each image.
    public let labels: [Int]
    /// Class names, indexed by label.
    public let classNames: [String]
    /// Where each image came from (file paths, or `file#index` for packed formats).
    public let sources: [String]

    /// A data set from its parts.
    /// - Throws: ``DataError/malformed(path:message:)`` unless `imageShape` is `[C, H, W]`,
    ///   `pixels` holds `labels.count` images of that shape, every label names one of
    ///   `classNames`, and there is one source per image.
    public init(imageShape: [Int], pixels: [UInt8], labels: [Int], classNames: [String], sources: [String]) throws {
        let origin = sources.first ?? "images in memory"
        guard imageShape.count == 3, imageShape.allSatisfy({ $0 >= 0 }) else {
            throw DataError.malformed(path: origin, message: "image shape \(imageShape) is not [C, H, W]")
        }
        guard pixels.count == labels.count * imageShape.reduce(1, *) else {
            throw DataError.malformed(path: origin, message: "\(pixels.count) pixel bytes are not \(labels.count) images of \(imageShape)")
        }
        guard sources.count == labels.count else {
            throw DataError.malformed(path: origin, message: "\(sources.count) sources for \(labels.count) images")
        }
        if let bad = labels.first(where: { !classNames.indices.contains($0) }) {
            throw DataError.malformed(path: origin, message: "label \(bad) names none of the \(classNames.count) classes")
        }
        self.init(validatedShape: imageShape, pixels: pixels, labels: labels, classNames: classNames, sources: sources)
    }

    private init(validatedShape imageShape: [Int], pixels: [UInt8], labels: [Int], classNames: [String], sources: [String]) {
        self.imageShape = imageShape
        self.pixels = pixels
        self.labels = labels
        self.classNames = classNames
        self.sources = sources
    }

    /// The number of images.
    public var count: Int { labels.count }

    /// Values per image.
    public var imageSize: Int { imageShape.reduce(1, *) }

    /// The images whose labels satisfy `predicate`, in order.
    public func filter(_ predicate: (Int) -> Bool) -> ImageDataset {
        subset(labels.indices.filter { predicate(labels[$0]) })
    }

    /// The images at `indices`, in that order.
    public func subset(_ indices: [Int]) -> ImageDataset {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(indices.count * imageSize)
        for index in indices { pixels += self.pixels[(index * imageSize)..<((index + 1) * imageSize)] }
        return ImageDataset(validatedShape: imageShape, pixels: pixels, labels: indices.map { labels[$0] },
                            classNames: classNames, sources: indices.map { sources[$0] })
    }

    /// The index of a class given by name or by number.
    public func classIndex(_ name: String) throws -> Int {
        try Self.classIndex(name, in: classNames)
    }

    /// The index of a class in `classNames`, given by name or by index.
    /// - Throws: ``DataError/unknownClass(_:available:)`` when it is neither.
    public static func classIndex(_ name: String, in classNames: [String]) throws -> Int {
        if let index = classNames.firstIndex(of: name) { return index }
        if let index = Int(name), classNames.indices.contains(index) { return index }
        throw DataError.unknownClass(name, available: classNames)
    }
}
