import Foundation
import MOCCA
import MOCCACore

/// Fits `detector` on preprocessed normal samples with a live progress line, then warns
/// about channels that the standardised fusion drops.
/// - Parameter allowDivergence: carry on when a phase's loss runs away, instead of
///   stopping with `MOCCAError.diverged` (`--allow-divergence`).
func fit(_ detector: MOCCADetector, on samples: any SampleSource, allowDivergence: Bool) throws {
    detector.stopsOnDivergence = !allowDivergence
    try detector.fit(normal: samples, progress: ProgressLine().report)
    if let warning = constantChannelWarning(detector) { printError(warning) }
}

/// A warning naming the channels that did not vary on the training data, or nil.
///
/// Standardisation divides by a channel's training standard deviation; where that is 0
/// or NaN the channel gets weight 0, so the standardised score silently ignores it.
func constantChannelWarning(_ detector: MOCCADetector) -> String? {
    let constant = detector.fusion.constantChannels
    guard !constant.isEmpty else { return nil }
    let scope = detector.configuration.fusion == .standardized ? "the detector's score" : "the standardized fusion in reports"
    return "warning: the channel\(constant.count == 1 ? "" : "s") \(constant.joined(separator: ", ")) did not vary on the training images "
        + "(standard deviation 0 or NaN), so \(scope) ignores \(constant.count == 1 ? "it" : "them")"
}

/// Saves `detector` to the folder `path`, printing on standard error what the library
/// cleaned up there (folders left by a save that was killed).
func saveDetector(_ detector: MOCCADetector, to path: String) throws {
    for note in try detector.save(to: URL(fileURLWithPath: path)) { printError("note: \(note)") }
}
