/// An error raised by a tensor operation: the operation's name, and what was wrong.
///
/// Every op validates its inputs before it computes anything, so a bad shape or a
/// non-finite value surfaces as a thrown `TensorError`, never as a crash.
public enum TensorError: Error, Equatable, CustomStringConvertible {
    /// The shapes of the operands do not fit together.
    case shapeMismatch(op: String, message: String)
    /// A tensor has the wrong number of dimensions.
    case rankMismatch(op: String, expected: String, got: [Int])
    /// A tensor that must hold data is empty (for example a batch of zero samples).
    case empty(op: String, message: String)
    /// A value is NaN or infinite where that is not allowed.
    case nonFinite(op: String, message: String)
    /// An argument is outside its valid range.
    case invalidArgument(op: String, message: String)
    /// The compute backend (oneDNN or BLAS) refused or failed.
    case backend(op: String, message: String)

    /// A readable description of the error.
    public var description: String {
        switch self {
        case let .shapeMismatch(op, message): return "\(op): shape mismatch: \(message)"
        case let .rankMismatch(op, expected, got):
            return "\(op): expected \(expected), got a tensor of shape \(got) (rank \(got.count))"
        case let .empty(op, message): return "\(op): empty input: \(message)"
        case let .nonFinite(op, message): return "\(op): non-finite value: \(message)"
        case let .invalidArgument(op, message): return "\(op): invalid argument: \(message)"
        case let .backend(op, message): return "\(op): backend failure: \(message)"
        }
    }
}
