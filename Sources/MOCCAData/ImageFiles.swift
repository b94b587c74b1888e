import Foundation
import MOCCACore

/// How images are brought to a detector's input size as they are decoded; stored with a
/// detector so that new files are scored exactly as training saw them.
public struct ImageResize: Codable, Sendable, Equatable {
    /// The output height and width in pixels.
    public var height: Int, width: Int
    /// The resampling filter.
    public var filter: ImageResizer.Filter

    /// A resize to `height × width` with `filter`.
    public init(height: Int, width: Int, filter: ImageResizer.Filter = .area) {
        self.height = height
        self.width = width
        self.filter = filter
    }

    /// Parses `H` (square) or `HxW`, as `--image-size` takes it.
    /// - Throws: ``DataError/malformed(path:message:)`` naming the text.
    public init(parsing text: String, filter: ImageResizer.Filter = .area) throws {
        let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
        guard (1...2).contains(parts.count), let height = parts[0], let width = parts.last ?? nil, height > 0, width > 0, height <= 8192, width <= 8192 else {
            throw DataError.malformed(path: "--image-size", message: "'\(text)' is not a size: expected H or HxW, each from 1 to 8192 pixels")
        }
        self.init(height: height, width: width, filter: filter)
    }
}

/// Image files decoded, converted and resized a batch at a time when they are read, then
/// preprocessed: a folder larger than memory can be trained on and scored.
///
/// Every image is decoded to ``channels`` channels and, with a ``resize``, resized to it;
/// without one, every image must have the size of the first. Decoded images are kept, up
/// to ``cacheBytes``, so that later epochs need not decode them again: a 300×300 PNG
/// takes about a millisecond to decode and resize, longer than a 32×32 network takes to
/// train on it, and 5,000 images of 3×32×32 take 15 MB. Past the budget, images are
/// decoded on every pass, and memory stays bounded.
public struct ImageFiles: SampleSource {
    /// The default budget of decoded bytes kept per source: 256 MiB.
    public static let defaultCacheBytes = 256 << 20
    /// The files, in sample order.
    public let files: [String]
    /// Their labels, if known.
    public let labels: [Int]?
    /// Channels decoded to (1 grey, 3 RGB).
    public let channels: Int
    /// The resize applied as images are decoded, if any.
    public let resize: ImageResize?
    /// `[C, H, W]` of every sample.
    public let sampleShape: [Int]
    /// The preprocessing applied to each batch; without one, pixels are scaled to `[0, 1]`.
    public var preprocessor: Preprocessor?
    /// The most decoded bytes kept for later passes.
    public var cacheBytes: Int { cache.budget }
    private let cache: DecodedImageCache

    /// A source over `files`. Without a `resize`, the first file is decoded to learn the size.
    /// - Throws: ``DataError`` for no files, mismatched labels, or a first file that cannot be decoded.
    public init(files: [String], labels: [Int]? = nil, channels: Int, resize: ImageResize? = nil, preprocessor: Preprocessor? = nil,
                cacheBytes: Int = ImageFiles.defaultCacheBytes) throws {
        guard let first = files.first else { throw DataError.emptyClass("images", path: "an empty list of files") }
        if let labels, labels.count != files.count {
            throw DataError.malformed(path: first, message: "\(labels.count) labels for \(files.count) image files")
        }
        self.files = files
        self.labels = labels
        self.channels = channels
        self.resize = resize
        self.preprocessor = preprocessor
        cache = DecodedImageCache(budget: cacheBytes)
        if let resize {
            sampleShape = [channels, resize.height, resize.width]
        } else {
            let image = try ImageDecoder.decode(path: first, channels: channels)
            sampleShape = [channels, image.height, image.width]
        }
    }

    /// The number of files.
    public var count: Int { files.count }
    /// The file's path.
    public func origin(of index: Int) -> String { files[index] }

    /// The decoded (and resized) bytes `[C, H, W]` of one file.
    /// - Throws: ``DataError`` for an unreadable file, or one whose size differs from the first's.
    public func pixels(at index: Int) throws -> [UInt8] {
        try cache.pixels(index) { try decode(index) }
    }

    private func decode(_ index: Int) throws -> [UInt8] {
        let path = files[index]
        let image = try ImageDecoder.decode(path: path, channels: channels,
                                            size: resize.map { ($0.height, $0.width) }, filter: resize?.filter ?? .area)
        guard [image.channels, image.height, image.width] == sampleShape else {
            throw DataError.malformed(path: path, message: "image is \(image.width)x\(image.height), expected \(sampleShape[2])x\(sampleShape[1]) like the first image (or pass --image-size)")
        }
        return image.pixels
    }

    /// The samples at `indices`, decoded and preprocessed.
    public func batch(_ indices: [Int]) throws -> Tensor {
        let size = sampleShape.reduce(1, *)
        let out = Tensor(zeros: [indices.count] + sampleShape)
        let base = out.unsafeScalarPointer
        for (row, index) in indices.enumerated() {
            let pixels = try self.pixels(at: index)
            let destination = UnsafeMutableBufferPointer(start: base + row * size, count: size)
            pixels.withUnsafeBufferPointer { source in
                if let preprocessor {
                    preprocessor.apply(source, into: destination)
                } else {
                    for i in 0..<size { destination[i] = Float(source[i]) / 255 }
                }
            }
        }
        return out
    }

    /// Fits the preprocessing constants on these images, decoding them one at a time.
    public func fitPreprocessor(globalContrastNormalization: Bool = true) throws -> Preprocessor {
        try Preprocessor.fit(count: count, imageSize: sampleShape.reduce(1, *), globalContrastNormalization: globalContrastNormalization) { index, body in
            try self.pixels(at: index).withUnsafeBufferPointer(body)
        }
    }
}

/// Decoded images by index, kept until their bytes reach a budget; safe to use from the
/// loading thread and the caller's at once.
final class DecodedImageCache: @unchecked Sendable {
    let budget: Int
    private var bytes = 0
    private var images: [Int: [UInt8]] = [:]
    private let lock = NSLock()

    init(budget: Int) { self.budget = max(0, budget) }

    /// The image at `index`, loaded by `load` the first time (and kept if it fits).
    func pixels(_ index: Int, load: () throws -> [UInt8]) throws -> [UInt8] {
        if let kept = lock.withLock({ images[index] }) { return kept }
        let loaded = try load()
        lock.withLock {
            if images[index] == nil, bytes + loaded.count <= budget {
                images[index] = loaded
                bytes += loaded.count
            }
        }
        return loaded
    }
}
