import CZlib
import Foundation

/// Reads MNIST-style IDX files (`*-images-idx3-ubyte`, `*-labels-idx1-ubyte`), gzipped or not.
public enum IDXReader {
    /// Reads an image file and its label file into a data set of 1-channel images.
    public static func load(images imagesPath: String, labels labelsPath: String, classNames: [String]? = nil) throws -> ImageDataset {
        let images = try readArray(imagesPath)
        let labels = try readArray(labelsPath)
        guard images.dimensions.count == 3 else {
            throw DataError.malformed(path: imagesPath, message: "expected an IDX image file of rank 3 [N, H, W], found rank \(images.dimensions.count)")
        }
        guard labels.dimensions.count == 1 else {
            throw DataError.malformed(path: labelsPath, message: "expected an IDX label file of rank 1, found rank \(labels.dimensions.count)")
        }
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DataError.malformed(path: labelsPath, message: "\(labels.dimensions[0]) labels for \(images.dimensions[0]) images in \(imagesPath)")
        }
        let classes = classNames ?? (0...Int(labels.values.max() ?? 0)).map(String.init)
        if let bad = labels.values.first(where: { Int($0) >= classes.count }) {
            throw DataError.malformed(path: labelsPath, message: "label \(bad) is outside the \(classes.count) classes")
        }
        let n = images.dimensions[0]
        let name = URL(fileURLWithPath: imagesPath).lastPathComponent
        return try ImageDataset(imageShape: [1, images.dimensions[1], images.dimensions[2]], pixels: images.values,
                            labels: labels.values.map(Int.init), classNames: classes,
                            sources: (0..<n).map { "\(name)#\($0)" })
    }

    /// An unsigned-byte IDX array: its dimensions and values.
    static func readArray(_ path: String) throws -> (dimensions: [Int], values: [UInt8]) {
        let bytes = try readMaybeGzipped(path)
        guard bytes.count >= 4 else { throw DataError.malformed(path: path, message: "too short for an IDX header (\(bytes.count) bytes)") }
        guard bytes[0] == 0, bytes[1] == 0 else { throw DataError.malformed(path: path, message: "not an IDX file (bad magic number)") }
        guard bytes[2] == 0x08 else { throw DataError.malformed(path: path, message: "IDX element type 0x\(String(bytes[2], radix: 16)) is not unsigned byte (0x08)") }
        let rank = Int(bytes[3])
        guard rank >= 1, bytes.count >= 4 + 4 * rank else { throw DataError.malformed(path: path, message: "truncated IDX header") }
        let dimensions = (0..<rank).map { d in
            (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) }
        }
        let start = 4 + 4 * rank
        var count = 1
        for dimension in dimensions {
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow, product <= bytes.count else {
                throw DataError.malformed(path: path, message: "dimensions \(dimensions) need more values than the file holds (truncated or corrupt)")
            }
            count = product
        }
        guard bytes.count - start == count else {
            throw DataError.malformed(path: path, message: "expected \(count) values for dimensions \(dimensions), found \(bytes.count - start) (truncated or corrupt)")
        }
        return (dimensions, Array(bytes[start...]))
    }

    /// The bytes of a file, decompressed if it is gzipped (by its magic number).
    static func readMaybeGzipped(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.missing(path: path, expected: "an IDX file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or not a regular file")
        }
        guard data.count >= 2, data[data.startIndex] == 0x1F, data[data.startIndex + 1] == 0x8B else { return [UInt8](data) }
        guard let file = gzopen(path, "rb") else { throw DataError.unreadable(path: path, reason: "gzopen failed") }
        defer { gzclose(file) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let read = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if read < 0 { throw DataError.malformed(path: path, message: "corrupt gzip stream") }
            if read == 0 { break }
            output += chunk[0..<Int(read)]
        }
        // gzread stops quietly at a truncated stream; zlib reports it as an error code.
        var code: Int32 = 0
        _ = gzerror(file, &code)
        if code != Z_OK && code != Z_STREAM_END { throw DataError.malformed(path: path, message: "corrupt or truncated gzip stream (zlib error \(code))") }
        return output
    }
}
