import Foundation
import MOCCA
import MOCCACore

/// Renders an evaluation as a table for people.
func renderReport(_ report: EvaluationReport, title: String) -> String {
    func pad(_ text: String, _ width: Int) -> String { text.count >= width ? text : text + String(repeating: " ", count: width - text.count) }
    func number(_ value: Double) -> String { String(format: "%9.4f", value) }
    func row(_ name: String, _ m: DetectionMetrics) -> String {
        pad(name, 26) + number(m.auroc) + number(m.aupr) + number(m.maxBalancedAccuracy) + number(m.maxF1) + intervalCell(m)
    }
    var lines = [title, pad("score", 26) + ["AUROC", "AUPR", "max bACC", "F1-max"].map { String(repeating: " ", count: 9 - $0.count) + $0 }.joined()
                 + intervalHeader]
    lines.append(row("overall", report.overall))
    for (name, metrics) in zip(report.channels, report.perChannel) { lines.append(row("  tap \(name)", metrics)) }
    lines.append(row("  fusion: mean of taps", report.meanFusion))
    lines.append(row("  fusion: standardized", report.standardizedFusion))
    lines.append(String(format: "threshold %.6g: accuracy %.4f on %d normal and %d anomalous samples",
                        report.threshold, report.accuracyAtThreshold, report.normalCount, report.anomalyCount))
    return lines.joined(separator: "\n")
}

/// The header of the AUROC interval column that ``intervalCell(_:)`` fills.
let intervalHeader = "  AUROC 95% CI"

/// The AUROC's 95% confidence interval (DeLong's, or Obuchowski's over groups of images),
/// or a dash where a class has fewer than two samples (or groups).
func intervalCell(_ metrics: DetectionMetrics) -> String {
    guard let interval = metrics.aurocInterval95 else { return "  –" }
    return String(format: "  %.3f–%.3f", interval.lowerBound, interval.upperBound)
}

/// JSON for machines: sorted keys, pretty-printed, paths with plain slashes.
func encodeJSON<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    return try encoder.encode(value)
}

/// Writes a file atomically (a reader never sees half of it).
func writeAtomically(_ data: Data, to path: String) throws {
    do { try AtomicFile.write(data, to: URL(fileURLWithPath: path)) } catch {
        throw MOCCAError.invalidData("cannot write \(path): \(error.localizedDescription)")
    }
}

/// The JSON report file: the evaluation's own fields, plus `constantChannels`, the
/// channels the standardised fusion ignores because they did not vary on the training
/// data (empty when none), so that a reader of the numbers sees the warning too.
struct ReportFile: Encodable {
    let evaluation: EvaluationReport
    let constantChannels: [String]

    init(_ evaluation: EvaluationReport, detector: MOCCADetector) {
        self.evaluation = evaluation
        constantChannels = detector.fusion.constantChannels
    }

    private enum Key: String, CodingKey { case constantChannels }

    func encode(to encoder: Encoder) throws {
        // Both write into the same top-level object: the report's keys stay where they were.
        try evaluation.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(constantChannels, forKey: .constantChannels)
    }
}
