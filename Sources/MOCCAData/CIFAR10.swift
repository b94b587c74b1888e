import Foundation

/// The CIFAR-10 data set: its class names and readers for its two layouts.
public enum CIFAR10 {
    /// The ten classes, in label order.
    public static let classNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    /// Which part of the data set.
    public enum Split: String, Sendable { case train, test }

    /// Reads the official binary layout: `cifar-10-batches-bin/data_batch_{1..5}.bin` and
    /// `test_batch.bin`, records of one label byte and 3,072 pixel bytes (`[3, 32, 32]`).
    /// - Parameter keep: a filter on labels applied while reading, to save memory.
    public static func loadBinary(directory: String, split: Split, keep: (Int) -> Bool = { _ in true }) throws -> ImageDataset {
        let files = split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw DataError.missing(path: directory, expected: "a folder holding CIFAR-10's data_batch_1..5.bin and test_batch.bin")
        }
        var pixels: [UInt8] = [], labels: [Int] = [], sources: [String] = []
        for file in files {
            let path = (directory as NSString).appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: path) else {
                throw DataError.missing(path: path, expected: "CIFAR-10 binary batch \(file)")
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError.unreadable(path: path, reason: "permission denied or not a regular file")
            }
            try appendBatch(data, path: path, keep: keep, pixels: &pixels, labels: &labels, sources: &sources)
        }
        return try ImageDataset(imageShape: [3, 32, 32], pixels: pixels, labels: labels, classNames: classNames, sources: sources)
    }

    /// Decodes the bytes of one binary batch file (`data_batch_1.bin`, `test_batch.bin`...),
    /// as ``loadBinary(directory:split:keep:)`` reads each of its files.
    /// - Parameters:
    ///   - path: names the batch in errors and, by its last component, in the images' sources
    ///     (`data_batch_1.bin#17`); nothing is read from it.
    ///   - keep: a filter on labels applied while reading.
    /// - Throws: ``DataError/malformed(path:message:)`` for a batch that is not whole
    ///   records, or a label outside 0...9.
    public static func decodeBatch(_ data: Data, path: String, keep: (Int) -> Bool = { _ in true }) throws -> ImageDataset {
        var pixels: [UInt8] = [], labels: [Int] = [], sources: [String] = []
        try appendBatch(data, path: path, keep: keep, pixels: &pixels, labels: &labels, sources: &sources)
        return try ImageDataset(imageShape: [3, 32, 32], pixels: pixels, labels: labels, classNames: classNames, sources: sources)
    }

    /// The bytes of one record: a label byte, then `[3, 32, 32]` pixel bytes.
    static let recordSize = 1 + 3072

    /// Appends the kept records of one batch's bytes to `pixels`, `labels` and `sources`.
    private static func appendBatch(_ data: Data, path: String, keep: (Int) -> Bool,
                                    pixels: inout [UInt8], labels: inout [Int], sources: inout [String]) throws {
        let file = (path as NSString).lastPathComponent
        guard !data.isEmpty, data.count % recordSize == 0 else {
            throw DataError.malformed(path: path, message: "\(data.count) bytes is not a whole number of \(recordSize)-byte CIFAR-10 records (truncated?)")
        }
        try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            for record in 0..<(data.count / recordSize) {
                let label = Int(raw[record * recordSize])
                guard label < classNames.count else {
                    throw DataError.malformed(path: path, message: "record \(record) has label \(label); CIFAR-10 labels are 0...9")
                }
                guard keep(label) else { continue }
                labels.append(label)
                sources.append("\(file)#\(record)")
                pixels += raw[(record * recordSize + 1)..<((record + 1) * recordSize)]
            }
        }
    }
}
