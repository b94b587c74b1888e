import Foundation

/// A NumPy .npy array, read fully.
///
/// Tabular data often leaves Python as `np.save(...)`; reading the format directly spares
/// users a conversion to CSV and the precision it loses.
public struct NumPyArray: Sendable {
    /// The dimensions, outermost first; empty for a 0-d (scalar) array.
    public var shape: [Int]
    /// Every element as a double, in C (row-major) order always: Fortran-order files are
    /// transposed on read, so that callers never see the file's layout.
    public var scalars: [Double]

    /// Reads an array from the bytes of a `.npy` file (format versions 1.0, 2.0, 3.0).
    /// - Parameter path: names the file in errors; nothing is read from it.
    /// - Throws: ``DataError/malformed(path:message:)`` for a bad magic string, a truncated
    ///   file, a header that does not parse, or a shape that does not match the payload;
    ///   ``DataError/unsupported(path:message:)`` for a dtype that holds no plain numbers.
    public static func read(from data: Data, path: String) throws -> NumPyArray {
        try data.withUnsafeBytes { try read(bytes: $0, path: path) }
    }

    /// Reads an array from a `.npy` file.
    /// - Throws: ``DataError/missing(path:expected:)`` when there is no such file,
    ///   ``DataError/unreadable(path:reason:)`` when it cannot be read, and the errors of
    ///   ``read(from:path:)``.
    public static func read(contentsOf url: URL) throws -> NumPyArray {
        try read(from: readWholeFile(url, expected: "a NumPy .npy file"), path: url.path)
    }

    /// The scalars as integers, for labels: a float label file (`1.0`) is common, a
    /// fractional label is a mistake worth reporting.
    /// - Parameter path: names the file in errors.
    /// - Throws: ``DataError/malformed(path:message:)`` naming the first scalar that is
    ///   not an integer (or too large for one).
    public func asIntegers(path: String) throws -> [Int] {
        try scalars.enumerated().map { index, scalar in
            // 2^63 is the first double beyond Int.max.
            guard scalar.rounded() == scalar, abs(scalar) < 0x1p63 else {
                throw DataError.malformed(path: path, message: "expected integer labels, found \(scalar) at index \(index)")
            }
            return Int(scalar)
        }
    }

    /// The magic string that starts every `.npy` file.
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// ``read(from:path:)`` over raw bytes, so that archive members need no copy into `Data`.
    static func read(bytes: UnsafeRawBufferPointer, path: String) throws -> NumPyArray {
        guard bytes.count >= 10 else {
            throw DataError.malformed(path: path, message: "truncated .npy file: expected at least 10 bytes (magic, version, header length), found \(bytes.count)")
        }
        guard Array(bytes[0..<6]) == magic else {
            throw DataError.malformed(path: path, message: "not a .npy file: expected the magic string \\x93NUMPY, found bytes \(bytes[0..<6].map { String($0, radix: 16) }.joined(separator: " "))")
        }
        let major = bytes[6], minor = bytes[7]
        let headerLength: Int, headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else {
                throw DataError.malformed(path: path, message: "truncated .npy file: expected at least 12 bytes for a version \(major).\(minor) header length, found \(bytes.count)")
            }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw DataError.unsupported(path: path, message: ".npy format version \(major).\(minor); expected 1.0, 2.0 or 3.0")
        }
        let payloadStart = headerStart + headerLength
        guard payloadStart <= bytes.count else {
            throw DataError.malformed(path: path, message: "truncated .npy header: expected \(headerLength) header bytes, found \(bytes.count - headerStart)")
        }
        let header = try NumPyHeader(Array(bytes[headerStart..<payloadStart]), path: path)
        let count = header.elementCount, needed = count * header.dtype.size
        let available = bytes.count - payloadStart
        guard available == needed else {
            let problem = available < needed ? "truncated" : "\(available - needed) bytes too many"
            throw DataError.malformed(path: path, message: "expected \(needed) bytes of data for shape \(header.shape) of \(header.descr), found \(available) (\(problem))")
        }
        var scalars = header.dtype.decode(UnsafeRawBufferPointer(rebasing: bytes[payloadStart...]), count: count)
        if header.isFortranOrder, header.shape.count > 1 {
            scalars = transposedToRowMajor(scalars, shape: header.shape)
        }
        return NumPyArray(shape: header.shape, scalars: scalars)
    }

    /// Column-major `scalars` of `shape` in row-major order: the element at a C-order
    /// position is found through the Fortran strides of its multi-index.
    static func transposedToRowMajor(_ scalars: [Double], shape: [Int]) -> [Double] {
        guard !scalars.isEmpty else { return scalars }
        let rank = shape.count
        var strides = [Int](repeating: 1, count: rank)
        for axis in 1..<rank { strides[axis] = strides[axis - 1] * shape[axis - 1] }
        var index = [Int](repeating: 0, count: rank)
        var source = 0
        var result = [Double]()
        result.reserveCapacity(scalars.count)
        for _ in 0..<scalars.count {
            result.append(scalars[source])
            // The next C-order multi-index: the last axis moves fastest.
            var axis = rank - 1
            while axis >= 0 {
                index[axis] += 1
                source += strides[axis]
                if index[axis] < shape[axis] { break }
                source -= strides[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
        return result
    }
}

/// The whole of a file, with the errors the readers share: missing, or unreadable.
func readWholeFile(_ url: URL, expected: String) throws -> Data {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
        throw DataError.missing(path: url.path, expected: expected)
    }
    guard !isDirectory.boolValue else { throw DataError.unreadable(path: url.path, reason: "a folder, not a file") }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw DataError.unreadable(path: url.path, reason: error.localizedDescription)
    }
}
