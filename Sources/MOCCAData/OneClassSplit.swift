import Foundation
import MOCCACore

/// The data sets the `mocca` tool reads, and the one-class protocol on them.
public enum DatasetKind: String, Codable, Sendable, CaseIterable {
    /// CIFAR-10: the binary batches (`cifar-10-batches-bin`) or an image folder (`train/<class>`, `test/<class>`).
    case cifar10
    /// MNIST IDX files (`train-images-idx3-ubyte[.gz]`, ...).
    case mnist
    /// Fashion-MNIST IDX files, same layout as MNIST.
    case fashionMNIST = "fashion-mnist"
    /// Any image folder `ROOT/{train,test}/<class>/*.{jpg,png}`.
    case imageFolder = "image-folder"
    /// An MVTec AD category (`ROOT/<category>/{train,test,ground_truth}`): industrial inspection.
    case mvtec
    /// The Magnetic Tile Defect layout (`ROOT/MT_Free/Imgs`, `ROOT/MT_<Defect>/Imgs`): industrial inspection.
    case mtd
    /// A folder of defect-free images, with optional folders of defective images and masks
    /// (anomalib's `Folder`): industrial inspection.
    case folder
    /// A table of numbers (`.csv`, `.npy`, `.npz`): every row a sample, normal unless a
    /// label column says otherwise.
    case table
    /// Videos as frame folders in ShanghaiTech's layout (`training/frames/<video>/*.jpg`,
    /// `testing/frames/<video>/*.jpg`, `testing/test_frame_mask/<video>.npy`), as UCSD Ped2 ships.
    case video

    /// The registered network that fits the data set's images.
    public var defaultNetwork: String {
        switch self {
        case .cifar10, .imageFolder: return "cifar10-lenet"
        case .mnist, .fashionMNIST: return "mnist-lenet"
        case .mvtec, .mtd, .folder: return "mvtec-resnet"
        case .table: return "mlp"
        case .video: return "video-c3d"
        }
    }

    /// Whether the data set is read as industrial inspection (``InspectionLayout``):
    /// defect-free training images, defect types, optional masks, no normal class to choose.
    public var isInspection: Bool { [.mvtec, .mtd, .folder].contains(self) }

    /// The class names of the built-in data sets.
    public var classNames: [String]? {
        switch self {
        case .cifar10: return CIFAR10.classNames
        case .mnist: return (0...9).map(String.init)
        case .fashionMNIST:
            return ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
        case .imageFolder, .mvtec, .mtd, .folder, .table, .video: return nil
        }
    }
}

/// The one-class protocol of the paper: train on the normal class's training images only;
/// test on the whole test set, with label 0 for the normal class and 1 for all others.
public struct OneClassSplit {
    /// The normal class's training images.
    public var train: ImageDataset
    /// The test images, all classes.
    public var test: ImageDataset
    /// The index of the normal class.
    public var normalClass: Int

    /// A split from its parts: `train` should hold only the normal class.
    public init(train: ImageDataset, test: ImageDataset, normalClass: Int) {
        self.train = train
        self.test = test
        self.normalClass = normalClass
    }

    /// 0 for the normal class, 1 for the others.
    public var testLabels: [Int] { test.labels.map { $0 == normalClass ? 0 : 1 } }

    /// The name of the normal class.
    public var normalClassName: String { train.classNames[normalClass] }

    /// Loads a data set and splits it for `normalClass` (a name or an index).
    /// - Throws: ``DataError`` for missing files, a wrong layout, corrupt data, an unknown
    ///   class or a normal class without training images.
    public static func load(_ kind: DatasetKind, path: String, normalClass: String, channels: Int = 3) throws -> OneClassSplit {
        let (train, test) = try loadSplits(kind, path: path, channels: channels, trainingClass: normalClass)
        // In an image folder a class is a folder: an empty one is named by its path.
        let folder = ["train", train.classNames[try train.classIndex(normalClass)]].reduce(path) { ($0 as NSString).appendingPathComponent($1) }
        let isFolder = FileManager.default.fileExists(atPath: folder)
        return try OneClassSplit(allTraining: train, test: test, normalClass: normalClass, path: isFolder ? folder : path)
    }

    /// Loads the training and test sets of a data set: every test image, and every
    /// training image or, given `trainingClass` (a name or an index), only that class's, so
    /// that memory does not grow with the other classes' training images.
    public static func loadSplits(_ kind: DatasetKind, path: String, channels: Int,
                                  trainingClass: String? = nil) throws -> (ImageDataset, ImageDataset) {
        func keepTraining(among names: [String]) throws -> (Int) -> Bool {
            guard let trainingClass else { return { _ in true } }
            let index = try ImageDataset.classIndex(trainingClass, in: names)
            return { $0 == index }
        }
        let fileManager = FileManager.default
        func join(_ parts: String...) -> String { parts.reduce(path) { ($0 as NSString).appendingPathComponent($1) } }
        guard fileManager.fileExists(atPath: path) else { throw DataError.missing(path: path, expected: "the \(kind.rawValue) data folder") }
        switch kind {
        case .cifar10:
            for candidate in [path, join("cifar-10-batches-bin")] where fileManager.fileExists(atPath: (candidate as NSString).appendingPathComponent("test_batch.bin")) {
                return (try CIFAR10.loadBinary(directory: candidate, split: .train, keep: keepTraining(among: CIFAR10.classNames)),
                        try CIFAR10.loadBinary(directory: candidate, split: .test))
            }
            if fileManager.fileExists(atPath: join("train")) {
                return try loadFolder(path, channels: 3, classNames: CIFAR10.classNames, keep: keepTraining(among: CIFAR10.classNames))
            }
            throw DataError.wrongLayout(path: path, expected: "CIFAR-10's binary batches (cifar-10-batches-bin/data_batch_1..5.bin, test_batch.bin) or an image folder (train/<class>/*.jpg, test/<class>/*.jpg)")
        case .mnist, .fashionMNIST:
            func idx(_ stem: String) throws -> String {
                for name in [stem, stem + ".gz"] where fileManager.fileExists(atPath: join(name)) { return join(name) }
                throw DataError.missing(path: join(stem), expected: "an IDX file \(stem) or \(stem).gz")
            }
            let train = try IDXReader.load(images: idx("train-images-idx3-ubyte"), labels: idx("train-labels-idx1-ubyte"), classNames: kind.classNames)
            let test = try IDXReader.load(images: idx("t10k-images-idx3-ubyte"), labels: idx("t10k-labels-idx1-ubyte"), classNames: kind.classNames)
            return (train, test)
        case .imageFolder:
            // The class names are the training sub-folders; without them ImageFolder.load
            // reports the wrong layout.
            let names = fileManager.fileExists(atPath: join("train")) ? try ImageFolder.subfolders(of: join("train")) : []
            return try loadFolder(path, channels: channels, classNames: nil, keep: names.isEmpty ? { _ in true } : keepTraining(among: names))
        case .mvtec, .mtd, .folder:
            throw DataError.wrongLayout(path: path, expected: "a classification data set; \(kind.rawValue) is industrial inspection, read by InspectionLayout")
        case .table, .video:
            throw DataError.wrongLayout(path: path, expected: "a classification data set of images; tables are read by TableFile, videos by VideoLayout")
        }
    }

    private static func loadFolder(_ path: String, channels: Int, classNames: [String]?,
                                   keep: (Int) -> Bool) throws -> (ImageDataset, ImageDataset) {
        let train = try ImageFolder.load(root: path, split: "train", channels: channels, classNames: classNames, keep: keep)
        // Test-only folders (defect types, say) are classes too: anomalies for every normal class.
        let testFolders = try ImageFolder.subfolders(of: (path as NSString).appendingPathComponent("test"))
        let testClasses = train.classNames + testFolders.filter { !train.classNames.contains($0) }
        let test = try ImageFolder.load(root: path, split: "test", channels: channels, classNames: testClasses)
        // An empty training set has no image size (its normal class is reported empty later).
        guard test.imageShape == train.imageShape || test.count == 0 || train.count == 0 else {
            throw DataError.malformed(path: path, message: "test images are \(test.imageShape), training images \(train.imageShape)")
        }
        return (train, test)
    }
}

extension OneClassSplit {
    /// The split for `normalClass` of already loaded training and test sets.
    public init(allTraining train: ImageDataset, test: ImageDataset, normalClass: String, path: String) throws {
        let normal = try train.classIndex(normalClass)
        let normalTrain = train.filter { $0 == normal }
        guard normalTrain.count > 0 else { throw DataError.emptyClass(train.classNames[normal], path: path) }
        self.init(train: normalTrain, test: test, normalClass: normal)
    }
}

/// A split after preprocessing: tensors ready for training and evaluation.
public struct PreparedSplit {
    /// The constants fitted on the normal training images.
    public var preprocessor: Preprocessor
    /// The normal training images `[N, C, H, W]`.
    public var train: Tensor
    /// The test images, still raw: a detector preprocesses them a batch at a time when it
    /// scores them (``MOCCADetector/score(_:)-(ImageDataset)``), so that no float copy of the
    /// whole test set is held.
    public var test: ImageDataset
    /// The test labels (0 normal, 1 anomaly).
    public var testLabels: [Int]

    /// The test images as a source, preprocessed a batch at a time, labelled 0 normal, 1 anomaly.
    public var testSource: PreprocessedImages {
        get throws { try PreprocessedImages(test, preprocessor: preprocessor, labels: testLabels) }
    }
}

extension OneClassSplit {
    /// Fits the preprocessing on the normal training images and applies it to them, once for
    /// the whole run.
    public func prepared(globalContrastNormalization: Bool = true) throws -> PreparedSplit {
        let preprocessor = try Preprocessor.fit(on: train, globalContrastNormalization: globalContrastNormalization)
        return PreparedSplit(preprocessor: preprocessor, train: preprocessor.apply(train), test: test, testLabels: testLabels)
    }

    /// A description of this split's data for a detector's manifest.
    public func description(dataset: DatasetKind, path: String) -> TrainingDataDescription {
        TrainingDataDescription(dataset: dataset.rawValue, path: path, normalClass: normalClassName,
                                classNames: train.classNames, imageShape: train.imageShape)
    }
}

/// Where a detector's training data came from.
public struct TrainingDataDescription: Codable, Sendable, Equatable {
    /// The kind of data set (for example `cifar10`, `fashion-mnist`, `image-folder`).
    public var dataset: String
    /// The folder the data was read from.
    public var path: String
    /// The name of the class trained on as normal.
    public var normalClass: String
    /// The data set's class names, indexed by label.
    public var classNames: [String]
    /// `[C, H, W]` of the images.
    public var imageShape: [Int]

    /// How images were resized to the network's input as they were decoded (nil: they
    /// had its size already).
    public var resize: ImageResize?

    /// For industrial-inspection data: how the split is read again and how images became
    /// samples (nil for classification data sets).
    public var inspection: InspectionDataDescription?

    /// For tables: how rows were read and scaled (nil for image data sets).
    public var table: TableDataDescription?

    /// For videos: where the videos are and how frames became clips (nil otherwise).
    public var video: VideoDataDescription?

    /// A description from its fields.
    public init(dataset: String, path: String, normalClass: String, classNames: [String], imageShape: [Int], resize: ImageResize? = nil,
                inspection: InspectionDataDescription? = nil, table: TableDataDescription? = nil,
                video: VideoDataDescription? = nil) {
        self.table = table
        self.video = video
        self.resize = resize
        self.inspection = inspection
        self.dataset = dataset
        self.path = path
        self.normalClass = normalClass
        self.classNames = classNames
        self.imageShape = imageShape
    }
}
