import Foundation

/// The one-class protocol on an image folder (`ROOT/train/<class>/`, `ROOT/test/<class>/`),
/// with files listed rather than decoded: training and scoring decode them a batch at a
/// time, so memory does not grow with the folder.
public struct ImageFolderSplit {
    /// The normal class's training images.
    public var train: ImageFiles
    /// The test images, labelled 0 (the normal class) or 1 (any other class); nil when the
    /// folder has no test split.
    public var test: ImageFiles?
    /// The classes of the training split, in sorted order.
    public var classNames: [String]
    /// The normal class's name.
    public var normalClassName: String

    /// Lists the folder's files for `normalClass` (a name or an index).
    /// - Parameter requireTest: whether a test split holding both normal and anomalous
    ///   images must exist (to evaluate after training).
    /// - Throws: ``DataError`` for a wrong layout, an unknown or empty normal class, or a
    ///   test split that cannot be evaluated.
    public static func load(root: String, normalClass: String, channels: Int, resize: ImageResize?,
                            requireTest: Bool) throws -> ImageFolderSplit {
        let trainPath = (root as NSString).appendingPathComponent("train")
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: trainPath, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.wrongLayout(path: root, expected: "a 'train' folder holding one sub-folder per class (ROOT/train/<class>/*.jpg|png)")
        }
        let classNames = try ImageFolder.subfolders(of: trainPath)
        guard !classNames.isEmpty else { throw DataError.wrongLayout(path: trainPath, expected: "one sub-folder per class, each holding images") }
        let normal = classNames[try ImageDataset.classIndex(normalClass, in: classNames)]
        let normalFolder = (trainPath as NSString).appendingPathComponent(normal)
        let trainFiles = try ImageFolder.imageFiles(in: normalFolder)
        guard !trainFiles.isEmpty else {
            throw DataError.emptyClass(normal, path: "\(normalFolder) (no .\(ImageFolder.extensions.sorted().joined(separator: ", .")) files)")
        }
        let train = try ImageFiles(files: trainFiles, labels: Array(repeating: 0, count: trainFiles.count), channels: channels, resize: resize)

        let testPath = (root as NSString).appendingPathComponent("test")
        guard FileManager.default.fileExists(atPath: testPath) else {
            if requireTest { throw DataError.missing(path: testPath, expected: "a test split (ROOT/test/<class>/) to evaluate on; pass --no-evaluate to train without one") }
            return ImageFolderSplit(train: train, test: nil, classNames: classNames, normalClassName: normal)
        }
        var testFiles: [String] = [], labels: [Int] = []
        for folder in try ImageFolder.subfolders(of: testPath) {
            let files = try ImageFolder.imageFiles(in: (testPath as NSString).appendingPathComponent(folder))
            testFiles += files
            labels += Array(repeating: folder == normal ? 0 : 1, count: files.count)
        }
        if requireTest, !(labels.contains(0) && labels.contains(1)) {
            throw DataError.malformed(path: testPath, message: "evaluating needs normal images (test/\(normal)/) and anomalous ones (any other class folder); found \(labels.filter { $0 == 0 }.count) normal and \(labels.filter { $0 == 1 }.count) anomalous")
        }
        let test = testFiles.isEmpty ? nil : try ImageFiles(files: testFiles, labels: labels, channels: channels, resize: resize)
        // Without a resize, test images must have the training images' size, as every
        // image of a split must have its first one's.
        if let test, test.sampleShape != train.sampleShape {
            throw DataError.malformed(path: testPath, message: "test images are \(test.sampleShape), training images \(train.sampleShape); pass --image-size to resize both")
        }
        return ImageFolderSplit(train: train, test: test, classNames: classNames, normalClassName: normal)
    }

    /// Fits the preprocessing on the normal training images (decoding them once) and sets
    /// it on both splits.
    public mutating func fitPreprocessor(globalContrastNormalization: Bool = true) throws -> Preprocessor {
        let preprocessor = try train.fitPreprocessor(globalContrastNormalization: globalContrastNormalization)
        train.preprocessor = preprocessor
        test?.preprocessor = preprocessor
        return preprocessor
    }
}
