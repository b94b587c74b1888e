/// An error reading a data set: what went wrong, and where.
public enum DataError: Error, Equatable, CustomStringConvertible {
    /// A file or folder that should exist does not.
    case missing(path: String, expected: String)
    /// A file exists but cannot be read.
    case unreadable(path: String, reason: String)
    /// A file's contents are not in the expected format.
    case malformed(path: String, message: String)
    /// A folder does not have the expected layout.
    case wrongLayout(path: String, expected: String)
    /// A class index or name that the data set does not have.
    case unknownClass(String, available: [String])
    /// A class with no samples where some are needed.
    case emptyClass(String, path: String)
    /// A file in a valid format, using a feature this reader does not support.
    case unsupported(path: String, message: String)
    /// An image whose header declares more pixels than the decoder allows (see
    /// ``ImageDecoder/maximumPixels``): refused before anything is allocated for it.
    case tooLarge(path: String, width: Int, height: Int, limit: Int)

    /// A readable description of the error.
    public var description: String {
        switch self {
        case let .missing(path, expected): return "\(path): not found (expected \(expected))"
        case let .unreadable(path, reason): return "\(path): cannot be read: \(reason)"
        case let .malformed(path, message): return "\(path): \(message)"
        case let .wrongLayout(path, expected): return "\(path): wrong folder layout; expected \(expected)"
        case let .unknownClass(name, available):
            return "unknown class '\(name)'; the data set has \(available.count) classes: \(available.joined(separator: ", "))"
        case let .emptyClass(name, path): return "class '\(name)' has no images in \(path)"
        case let .unsupported(path, message): return "\(path): a valid file, but unsupported: \(message)"
        case let .tooLarge(path, width, height, limit):
            // In megapixels, as doubles: the declared sizes come from a header and may be absurd.
            let declared = Double(width) * Double(height) / 1e6, allowed = Double(limit) / 1e6
            return "\(path): the header declares \(width)x\(height) pixels (\(declared) megapixels), more than the limit of "
                + "\(allowed) megapixels; a corrupt header or a decompression bomb (raise maximumPixels if the image is genuine)"
        }
    }
}
