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

    /// An unsigned-byte IDX file of the given rank, read from `path`: its dimensions and values.
    /// - Parameter kind: what the file should be, for messages.
    static func readArray(_ path: String, rank expectedRank: Int, kind: String) throws -> (dimensions: [Int], values: [UInt8]) {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.missing(path: path, expected: "an IDX file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(path: path, reason: "permission denied or not a regular file")
        }
        return try decodeArray(data, rank: expectedRank, path: path, kind: kind)
    }

    /// Decodes the bytes of an unsigned-byte IDX file of the given rank, gzipped or not
    /// (by the gzip magic number): its dimensions, and its values in row-major order.
    /// This is what ``load(images:labels:classNames:)`` does with each file it reads.
    /// - Parameters:
    ///   - rank: the rank the file must have: 3 for images `[N, H, W]`, 1 for labels `[N]`.
    ///   - path: names the file in errors; nothing is read from it.
    /// - Throws: ``DataError/malformed(path:message:)`` for a corrupt gzip stream, a bad
    ///   header, another element type or rank, a zero dimension, or too few or too many values.
    public static func decodeArray(_ data: Data, rank: Int, path: String) throws -> (dimensions: [Int], values: [UInt8]) {
        let kind = switch rank {
        case 3: "an IDX image file of rank 3 [N, H, W]"
        case 1: "an IDX label file of rank 1 [N]"
        default: "an IDX file of rank \(rank)"
        }
        return try decodeArray(data, rank: rank, path: path, kind: kind)
    }

    /// ``decodeArray(_:rank:path:)`` with `kind`, what the file should be, for messages.
    ///
    /// The rank is checked before the dimensions are read: with another rank, the header
    /// would be read with the wrong length and every later message would mislead.
    private static func decodeArray(_ data: Data, rank expectedRank: Int, path: String, kind: String) throws -> (dimensions: [Int], values: [UInt8]) {
        let bytes = try gunzipIfGzipped(data, path: path)
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

    /// `data` decompressed if it is gzipped (by its magic number), otherwise as it is.
    ///
    /// Reads as zlib's `gzread` does: a stream of several gzip members is read whole,
    /// and anything after the last member that is not another member is ignored.
    static func gunzipIfGzipped(_ data: Data, path: String) throws -> [UInt8] {
        let input = [UInt8](data)
        guard input.count >= 2, input[0] == 0x1F, input[1] == 0x8B else { return input }
        return try Inflate.inflate(input, .gzip, path: path)
    }
}
