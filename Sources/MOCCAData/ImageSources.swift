import MOCCACore

/// Decoded images in memory, preprocessed a batch at a time when they are read: the float
/// copy of the whole set is never made.
public struct PreprocessedImages: SampleSource {
    /// The raw images.
    public let images: ImageDataset
    /// The transformation applied to each batch.
    public let preprocessor: Preprocessor
    /// The labels reported (by default the images' class indices).
    public let labels: [Int]?

    /// A source over `images`, with `labels` in place of their class indices when given.
    /// - Throws: ``DataError/malformed(path:message:)`` unless there is one label per image.
    public init(_ images: ImageDataset, preprocessor: Preprocessor, labels: [Int]? = nil) throws {
        if let labels, labels.count != images.count {
            throw DataError.malformed(path: images.sources.first ?? "images in memory", message: "\(labels.count) labels for \(images.count) images")
        }
        self.images = images
        self.preprocessor = preprocessor
        self.labels = labels ?? images.labels
    }

    /// The number of images.
    public var count: Int { images.count }
    /// `[C, H, W]`.
    public var sampleShape: [Int] { images.imageShape }
    /// The preprocessed images at `indices`.
    public func batch(_ indices: [Int]) throws -> Tensor { preprocessor.apply(images, indices: indices) }
    /// The image's file (or `file#index` in a packed format).
    public func origin(of index: Int) -> String { images.sources[index] }
}
