/// An error of the benchmark protocol: a plan that cannot run, a results file that cannot
/// be read back, or a file that cannot be written.
public enum BenchmarkError: Error, Equatable, CustomStringConvertible {
    /// The classes, seeds or boundaries to run are empty or list something twice.
    case invalidPlan(String)
    /// A line of the results file (1-based) is not a benchmark record and is not a torn
    /// last line either, so it cannot be dropped without losing a finished run.
    case corruptResults(path: String, line: Int, reason: String)
    /// A file of the results folder cannot be read.
    case unreadable(path: String, reason: String)
    /// A file of the results folder cannot be written.
    case unwritable(path: String, reason: String)

    /// A readable description of the error.
    public var description: String {
        switch self {
        case .invalidPlan(let message): return "invalid benchmark plan: \(message)"
        case let .corruptResults(path, line, reason):
            return "\(path), line \(line): not a benchmark record (\(reason)); repair or delete that line, or move the file away to start afresh"
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .unwritable(path, reason): return "cannot write \(path): \(reason)"
        }
    }
}
