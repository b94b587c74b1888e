import Foundation
import MOCCA

/// A live progress line on standard error: redrawn in place on a terminal, one line per
/// epoch otherwise (logs stay readable).
final class ProgressLine {
    private let interactive = isatty(2) != 0
    private var lastDraw = Date.distantPast

    func report(_ p: TrainingProgress) {
        let endOfEpoch = p.batch == p.batches
        let text = String(format: "%@ epoch %d/%d  batch %d/%d  loss %.5g  %.0f img/s  ETA %@",
                          p.phase, p.epoch, p.epochs, p.batch, p.batches, p.loss, p.imagesPerSecond, duration(p.secondsRemaining))
        if interactive {
            guard endOfEpoch || Date().timeIntervalSince(lastDraw) > 0.2 else { return }
            lastDraw = Date()
            printError("\r\u{1B}[K" + text, terminator: endOfEpoch && p.epoch == p.epochs ? "\n" : "")
        } else if endOfEpoch {
            printError(text)
        }
    }
}

func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
}
