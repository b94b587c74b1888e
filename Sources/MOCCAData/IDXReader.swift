import CZlib
import Foundation

/// Reads MNIST-style IDX files (`*-images-idx3-ubyte`, `*-labels-idx1-ubyte`), gzipped or not.
public enum IDXReader {
    /// Reads an image file and its label file into a data set of 1-channel images.
    public static func load(images imagesPath: String, labels labelsPath: String, classNames: [String]? = nil) throws -> ImageDataset {
        let images = try readArray(imagesPath, rank: 3, kind: "an IDX image file of rank 3 [N, H, W]")
        let labels = try readArray(labelsPath, rank: 1, kind: "an IDX label file of rank 1 [N]")
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw DataError.malformed(path: labelsPath, message: "expected \(images.dimensions[0]) labels, one per image in \(imagesPath), found \(labels.dimensions[0])")
        }
        let classes = classNames ?? (0...Int(labels.values.max() ?? 0)).map(String.init)
        if let bad = labels.values.first(where: { Int($0) >= classes.count }) {
            throw DataError.malformed(path: labelsPath, message: "label \(bad) is outside the \(classes.count) classes (expected 0...\(classes.count - 1))")
        }
        let n = images.dimensions[0]
        let name = URL(fileURLWithPath: imagesPath).lastPathComponent
        return try ImageDataset(imageShape: [1, images.dimensions[1], images.dimensions[2]], pixels: images.values,
                            labels: labels.values.map(Int.init), classNames: classes,
                            sources: (0..<n).map { "\(name)#\($0)" })
    }

    /// An unsigned-byte IDX array of the given rank: its dimensions and values.
    ///
    /// The rank is checked before the dimensions are read: with another rank, the header
    /// would be read with the wrong length and every later message would mislead.
    /// - Parameter kind: what the file should be, for messages.
    static func readArray(_ path: String, rank expectedRank: Int, kind: String) throws -> (dimensions: [Int], values: [UInt8]) {
        let bytes = try readMaybeGzipped(path)
        guard bytes.count >= 4 else {
            throw DataError.malformed(path: path, message: "expected \(kind), found only \(bytes.count) bytes (an IDX header has at least 4)")
        }
        guard bytes[0] == 0, bytes[1] == 0 else {
            throw DataError.malformed(path: path, message: "not an IDX file: expected the magic bytes 00 00, found \(hex(bytes[0])) \(hex(bytes[1]))")
        }
        guard bytes[2] == 0x08 else {
            throw DataError.malformed(path: path, message: "expected IDX element type 08 (unsigned byte), found \(hex(bytes[2]))")
        }
        let rank = Int(bytes[3])
        guard rank == expectedRank else { throw DataError.malformed(path: path, message: "expected \(kind), found rank \(rank)") }
        let start = 4 + 4 * rank
        guard bytes.count >= start else {
            throw DataError.malformed(path: path, message: "truncated IDX header: rank \(rank) needs \(start) bytes, found \(bytes.count)")
        }
        let dimensions = (0..<rank).map { d in
            (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) }
        }
        if let zero = dimensions.firstIndex(of: 0) {
            throw DataError.malformed(path: path, message: "expected every dimension to be at least 1, found dimension \(zero) of \(dimensions) to be 0")
        }
        let available = bytes.count - start
        let (count, overflow) = dimensions.reduce((1, false)) { total, dimension in
            let (product, overflow) = total.0.multipliedReportingOverflow(by: dimension)
            return (product, total.1 || overflow)
        }
        guard !overflow else {
            throw DataError.malformed(path: path, message: "dimensions \(dimensions) describe more values than a file can hold, found \(available) (corrupt header)")
        }
        guard available == count else {
            let problem = available < count ? "truncated" : "\(available - count) bytes too many"
            throw DataError.malformed(path: path, message: "expected \(count) values for dimensions \(dimensions), found \(available) (\(problem))")
        }
        return (dimensions, Array(bytes[start...]))
    }

    /// A byte as two hexadecimal digits.
    private static func hex(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return byte < 16 ? "0" + digits : digits
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
