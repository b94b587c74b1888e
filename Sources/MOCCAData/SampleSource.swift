import Dispatch
import MOCCACore

/// Where a detector's samples come from: a count, a sample shape, and batches of chosen
/// samples as tensors.
///
/// Fitting, scoring and evaluating read samples only through this protocol, a batch at a
/// time, so that a data set never has to be held in memory as one tensor: an image
/// folder decodes the files of each batch when it is asked for them. Implementations
/// must allow ``batch(_:)`` to be called from a background thread (batches are loaded one
/// ahead of the compute, see ``BatchLoader``).
public protocol SampleSource: Sendable {
    /// The number of samples.
    var count: Int { get }
    /// The shape of one sample, without the batch axis.
    var sampleShape: [Int] { get }
    /// The samples at `indices`, in that order, as one tensor `[indices.count] + sampleShape`.
    func batch(_ indices: [Int]) throws -> Tensor
    /// Each sample's label where the source has labels (0 normal, 1 anomaly, or a class index).
    var labels: [Int]? { get }
    /// Each sample's group where samples belong together (the image of a patch, the video
    /// of a clip); nil where every sample stands alone.
    var groups: [Int]? { get }
    /// Where sample `index` came from, for reports and error messages.
    func origin(of index: Int) -> String
}

extension SampleSource {
    /// No labels unless the source has them.
    public var labels: [Int]? { nil }
    /// No groups unless the source has them.
    public var groups: [Int]? { nil }
    /// `sample <index>` unless the source knows better.
    public func origin(of index: Int) -> String { "sample \(index)" }
}

/// A source that draws new samples for every training epoch (random clips of videos, say)
/// rather than showing the same ones each time: training asks it for each epoch's draws.
public protocol EpochDrawnSource: SampleSource {
    /// The samples of training epoch `epoch` (from 0): as many, of the same shape.
    func drawn(forEpoch epoch: Int) -> any SampleSource
}

/// Samples held in memory as one tensor `[N, ...]`.
public struct TensorSource: SampleSource, @unchecked Sendable {
    /// All samples.
    public let samples: Tensor
    /// Their labels, if known.
    public let labels: [Int]?

    /// A source over the rows of `samples`.
    /// - Throws: ``DataError/malformed(path:message:)`` when `samples` has no batch axis
    ///   or `labels` does not have one entry per row.
    public init(_ samples: Tensor, labels: [Int]? = nil) throws {
        guard samples.rank >= 1 else { throw DataError.malformed(path: "samples in memory", message: "a tensor of rank 0 has no samples") }
        if let labels, labels.count != samples.shape[0] {
            throw DataError.malformed(path: "samples in memory", message: "\(labels.count) labels for \(samples.shape[0]) samples")
        }
        self.samples = samples
        self.labels = labels
    }

    /// The number of rows.
    public var count: Int { samples.shape[0] }
    /// The shape of one row.
    public var sampleShape: [Int] { Array(samples.shape.dropFirst()) }
    /// The rows at `indices`, copied.
    public func batch(_ indices: [Int]) throws -> Tensor { try samples.gatheringRows(indices) }
}

/// Loads the batches of a pass over a source one ahead of their use, on a background
/// thread, so that decoding files overlaps with the compute.
///
/// Iterate it: each element is a batch's indices and its tensor. Only one batch waits
/// ready at a time, so memory stays bounded whatever the source's size.
public struct BatchLoader: Sequence {
    /// The source read.
    public let source: any SampleSource
    /// The batches, as sample indices, in the order they are delivered.
    public let batches: [[Int]]

    /// A pass over `batches` of `source`.
    public init(_ source: any SampleSource, batches: [[Int]]) {
        self.source = source
        self.batches = batches
    }

    /// A pass over all samples in order, in consecutive batches of `size`.
    public init(_ source: any SampleSource, consecutiveBatchesOf size: Int) {
        let ranges = stride(from: 0, to: source.count, by: Swift.max(size, 1)).map { Array($0..<Swift.min($0 + size, source.count)) }
        self.init(source, batches: ranges)
    }

    /// An iterator that starts loading the first batch at once.
    public func makeIterator() -> Iterator { Iterator(source: source, batches: batches) }

    /// Delivers each batch, having started to load the next one.
    public struct Iterator: IteratorProtocol {
        let source: any SampleSource
        let batches: [[Int]]
        var position = 0
        var pending: Pending?

        init(source: any SampleSource, batches: [[Int]]) {
            self.source = source
            self.batches = batches
            pending = batches.first.map { Pending(source: source, indices: $0) }
        }

        /// The next batch's indices and tensor, or the error loading it raised.
        public mutating func next() -> (indices: [Int], batch: Result<Tensor, Error>)? {
            guard let current = pending else { return nil }
            let indices = batches[position]
            position += 1
            pending = position < batches.count ? Pending(source: source, indices: batches[position]) : nil
            return (indices, current.wait())
        }
    }

    /// One batch being loaded on a global queue.
    final class Pending: @unchecked Sendable {
        private var result: Result<Tensor, Error>?
        private let done = DispatchSemaphore(value: 0)

        init(source: any SampleSource, indices: [Int]) {
            DispatchQueue.global(qos: .userInitiated).async {
                self.result = Result { try source.batch(indices) }
                self.done.signal()
            }
        }

        func wait() -> Result<Tensor, Error> {
            done.wait()
            done.signal()
            return result ?? .failure(DataError.unreadable(path: "a batch", reason: "its loading did not finish"))
        }
    }
}
