import MOCCA

/// The images a benchmark runs on: every training image and the whole test set, with the
/// data set's path-independent name, from which each class's ``OneClassSplit`` is cut.
public struct BenchmarkData: Sendable {
    /// The data set's name as records and pretraining keys hold it (for example `cifar10`):
    /// the same data read from another folder keeps its results and autoencoders.
    public var dataset: String
    /// Where the data was read from, for error messages only.
    public var path: String
    /// The training images of every class.
    public var training: ImageDataset
    /// The test images of every class.
    public var test: ImageDataset

    /// Data from images already in memory.
    public init(dataset: String, path: String, training: ImageDataset, test: ImageDataset) {
        self.dataset = dataset
        self.path = path
        self.training = training
        self.test = test
    }

    /// Loads a data set from its folder (see ``MOCCAData/OneClassSplit/loadSplits(_:path:channels:trainingClass:)``).
    /// - Throws: `DataError` for missing files, a wrong layout or corrupt data.
    public init(loading kind: DatasetKind, path: String, channels: Int = 3) throws {
        let (training, test) = try OneClassSplit.loadSplits(kind, path: path, channels: channels)
        self.init(dataset: kind.rawValue, path: path, training: training, test: test)
    }

    /// The class names, indexed by label.
    public var classNames: [String] { training.classNames }

    /// The one-class split for `normalClass` (a name or an index).
    /// - Throws: `DataError` for an unknown class or one without training images.
    public func split(normalClass: String) throws -> OneClassSplit {
        try OneClassSplit(allTraining: training, test: test, normalClass: normalClass, path: path)
    }
}
