/// An error of the MOCCA method: bad options, data that cannot be used, a detector file
/// that cannot be loaded, or a training run that diverged.
public enum MOCCAError: Error, Equatable, CustomStringConvertible {
    /// An option is out of range or inconsistent.
    case invalidConfiguration(String)
    /// The data cannot be used (empty normal class, wrong image shape, ...).
    case invalidData(String)
    /// A loss became NaN or infinite.
    case nonFiniteLoss(phase: String, epoch: Int, batch: Int)
    /// A training phase ran away: its loss or its weights grew far beyond where the phase
    /// started (the reason says which, with the figures).
    case diverged(phase: String, epoch: Int, reason: String)
    /// A sample's score on a channel is NaN or infinite: the detector or the sample is broken.
    case nonFiniteScore(sample: String, channel: String)
    /// Scores and labels cannot be evaluated.
    case invalidEvaluation(String)
    /// A detector file is missing, truncated, of another format version, or not a detector.
    case invalidDetector(path: String, reason: String)
    /// The detector has not been fitted.
    case notFitted

    /// A readable description of the error.
    public var description: String {
        switch self {
        case .invalidConfiguration(let message): return "invalid configuration: \(message)"
        case .invalidData(let message): return "invalid data: \(message)"
        case let .nonFiniteLoss(phase, epoch, batch):
            return "the \(phase) loss became NaN or infinite at epoch \(epoch), batch \(batch); lower the learning rate or check the data"
        case let .diverged(phase, epoch, reason):
            return "the \(phase) phase diverged in epoch \(epoch): \(reason); lower the learning rate, or let it run with --allow-divergence"
        case let .nonFiniteScore(sample, channel):
            return "the \(channel) score of \(sample) is NaN or infinite; the detector's weights or the sample are not usable"
        case .invalidEvaluation(let message): return "cannot evaluate: \(message)"
        case let .invalidDetector(path, reason): return "\(path) is not a usable detector: \(reason)"
        case .notFitted: return "the detector has not been fitted"
        }
    }
}
