import Foundation
import MOCCA
import MOCCAData

/// The report's figures, drawn on a ``Canvas`` without a plotting library: a ROC curve,
/// the score histograms of both classes, and horizontal AUROC bars. Each returns an RGB
/// image ready for ``ImageEncoder/writePNG(_:to:)``.
public enum Figures {
    /// The text scale of titles, ticks and labels: the 5×7 font doubled.
    static let textScale = 2

    /// The ROC curve of `scores` against `labels` (0 normal, 1 anomaly), with the chance
    /// diagonal, and the AUROC in the title.
    /// - Throws: ``MOCCA/MOCCAError/invalidEvaluation(_:)`` as ``MOCCA/DetectionMetrics``.
    public static func rocCurve(scores: [Float], labels: [Int]) throws -> ImageDecoder.Image {
        let auroc = try DetectionMetrics(scores: scores, labels: labels).auroc
        let points = try DetectionMetrics.rocCurve(scores: scores, labels: labels)
        var canvas = Canvas(width: 480, height: 480)
        let axes = Axes(left: 96, top: 50, right: 455, bottom: 400, x: 0...1, y: 0...1)
        axes.draw(on: &canvas, title: String(format: "ROC curve, AUROC %.4f", auroc),
                  xLabel: "false positive rate", yLabel: "true positive rate")
        canvas.line(from: axes.point(0, 0), to: axes.point(1, 1), colour: .grey, dash: 6)
        for (a, b) in zip(points, points.dropFirst()) {
            canvas.line(from: axes.point(a.fpr, a.tpr), to: axes.point(b.fpr, b.tpr), colour: .normal, thickness: 3)
        }
        return canvas.image
    }

    /// Histograms of the normal and the anomalous samples' scores over the same bins,
    /// each as the fraction of its class (so a rare class stays visible), overlaid in
    /// translucent blue and orange, with the `threshold` as a dashed vertical line.
    /// - Throws: ``MOCCA/MOCCAError/invalidEvaluation(_:)`` when the counts differ or a
    ///   score is not finite.
    public static func scoreHistogram(scores: [Float], labels: [Int], threshold: Float?, bins: Int = 30) throws -> ImageDecoder.Image {
        guard scores.count == labels.count, !scores.isEmpty, scores.allSatisfy(\.isFinite), bins > 0 else {
            throw MOCCAError.invalidEvaluation("a histogram needs one finite score per label; got \(scores.count) for \(labels.count)")
        }
        var values = scores.map(Double.init)
        if let threshold, threshold.isFinite { values.append(Double(threshold)) }
        var low = values.min() ?? 0, high = values.max() ?? 1
        if high - low < 1e-12 * max(abs(low), 1) { (low, high) = (low - 0.5, high + 0.5) }
        let margin = (high - low) * 0.04
        (low, high) = (low - margin, high + margin)
        let width = (high - low) / Double(bins)
        func fractions(_ label: Int) -> [Double] {
            let members = zip(scores, labels).filter { ($0.1 == 1) == (label == 1) }.map { Double($0.0) }
            var counts = [Double](repeating: 0, count: bins)
            for value in members { counts[min(Int((value - low) / width), bins - 1)] += 1 }
            return counts.map { $0 / Double(max(members.count, 1)) }
        }
        let classes = [(fractions(0), RGB.normal, "normal"), (fractions(1), RGB.anomalous, "anomalous")]
        let top = (classes.flatMap(\.0).max() ?? 1) * 1.15
        var canvas = Canvas(width: 580, height: 500)
        let axes = Axes(left: 96, top: 50, right: 560, bottom: 400, x: low...high, y: 0...max(top, 1e-9))
        axes.draw(on: &canvas, title: "Scores of normal and anomalous samples", xLabel: "anomaly score", yLabel: "fraction of class")
        for (fraction, colour, _) in classes {
            for (bin, value) in fraction.enumerated() where value > 0 {
                let (x0, y0) = axes.point(low + Double(bin) * width, value), (x1, _) = axes.point(low + Double(bin + 1) * width, 0)
                canvas.fill(x: Int(x0.rounded()), y: Int(y0.rounded()), width: max(Int((x1 - x0).rounded()), 1),
                            height: axes.bottom - Int(y0.rounded()), colour: colour, opacity: 0.55)
            }
        }
        if let threshold, threshold.isFinite {
            let x = axes.point(Double(threshold), 0).x
            canvas.line(from: (x, Double(axes.top)), to: (x, Double(axes.bottom)), colour: .black, thickness: 2, dash: 8)
            // The label on the side of the line with more room.
            let onLeft = x > Double(axes.left + axes.right) / 2
            canvas.text(String(format: "threshold %.4g", threshold), x: Int(x) + (onLeft ? -8 : 8), y: axes.top + 8,
                        scale: textScale, alignment: onLeft ? .right : .left)
        }
        // The legend, in one row below the axis label.
        var x = axes.left
        for (_, colour, name) in classes {
            let count = labels.filter { ($0 == 1) == (name == "anomalous") }.count, text = "\(name) (\(count))"
            canvas.fill(x: x, y: axes.bottom + 64, width: 16, height: 14, colour: colour, opacity: 0.55)
            canvas.text(text, x: x + 24, y: axes.bottom + 64, scale: textScale)
            x += 24 + Canvas.textWidth(text, scale: textScale) + 40
        }
        return canvas.image
    }

    /// Horizontal bars of AUROCs (0...1), one per name, each labelled with its value,
    /// with a dashed line at chance (0.5).
    public static func aurocBars(names: [String], values: [Double], title: String) -> ImageDecoder.Image {
        let labels = names.map { $0.count > 22 ? String($0.prefix(21)) + "~" : $0 }
        let left = 24 + (labels.map { Canvas.textWidth($0, scale: textScale) }.max() ?? 0)
        let rows = min(names.count, values.count), rowHeight = 34
        var canvas = Canvas(width: left + 460, height: 50 + rows * rowHeight + 80)
        let axes = Axes(left: left, top: 50, right: left + 360, bottom: 50 + rows * rowHeight + 10, x: 0...1, y: 0...1)
        axes.draw(on: &canvas, title: title, xLabel: "AUROC", yLabel: nil)
        for row in 0..<rows {
            let y = axes.top + 8 + row * rowHeight
            canvas.text(labels[row], x: left - 10, y: y + 6, scale: textScale, alignment: .right)
            let value = values[row].isFinite ? min(max(values[row], 0), 1) : 0
            let end = Int(axes.point(value, 0).x.rounded())
            canvas.fill(x: axes.left + 1, y: y, width: end - axes.left, height: rowHeight - 10, colour: .normal)
            // The value inside the bar's end, or after a bar too short to hold it.
            let label = String(format: "%.3f", values[row]), inside = end - axes.left > Canvas.textWidth(label, scale: textScale) + 12
            canvas.text(label, x: inside ? end - 6 : end + 6, y: y + 6, colour: inside ? .white : .black, scale: textScale,
                        alignment: inside ? .right : .left)
        }
        let chance = axes.point(0.5, 0).x
        canvas.line(from: (chance, Double(axes.top)), to: (chance, Double(axes.bottom)), colour: .grey, thickness: 2, dash: 6)
        return canvas.image
    }
}

extension Figures {
    /// The colour scale of heat maps: the inferno map from `range`'s lower to its upper
    /// end, with round values marked, for the reader to tell what a colour means.
    public static func colourBar(range: ClosedRange<Float>, title: String = "anomaly map") -> ImageDecoder.Image {
        let low = Double(range.lowerBound), high = Double(range.upperBound) > low ? Double(range.upperBound) : low + 1
        var canvas = Canvas(width: 560, height: 96)
        let axes = Axes(left: 30, top: 36, right: 530, bottom: 56, x: low...high, y: 0...1)
        for x in axes.left..<axes.right {
            let c = HeatMap.colour(Float(x - axes.left) / Float(axes.right - axes.left - 1))
            canvas.fill(x: x, y: axes.top, width: 1, height: axes.bottom - axes.top, colour: RGB(c.red, c.green, c.blue))
        }
        canvas.text(title, x: (axes.left + axes.right) / 2, y: 10, scale: textScale, alignment: .centre)
        for tick in Axes.ticks(low...high) {
            let x = axes.point(tick, 0).x
            canvas.line(from: (x, Double(axes.bottom)), to: (x, Double(axes.bottom + 5)), colour: .black)
            canvas.text(Axes.label(tick, in: low...high), x: Int(x.rounded()), y: axes.bottom + 10, scale: textScale, alignment: .centre)
        }
        return canvas.image
    }
}

/// A plot's frame: a data range mapped onto a pixel rectangle, drawn with a title, tick
/// marks at round numbers with their labels, and axis labels.
struct Axes {
    /// The plot rectangle's edges in pixels.
    let left: Int, top: Int, right: Int, bottom: Int
    /// The data ranges shown.
    let x: ClosedRange<Double>, y: ClosedRange<Double>

    /// The pixel position of the data point (`u`, `v`).
    func point(_ u: Double, _ v: Double) -> (x: Double, y: Double) {
        (Double(left) + (u - x.lowerBound) / (x.upperBound - x.lowerBound) * Double(right - left),
         Double(bottom) - (v - y.lowerBound) / (y.upperBound - y.lowerBound) * Double(bottom - top))
    }

    /// Draws the title, the box, grid lines and labels at the ticks, and the axis labels;
    /// without a `yLabel` the vertical axis has no ticks either.
    func draw(on canvas: inout Canvas, title: String, xLabel: String, yLabel: String?) {
        let scale = Figures.textScale
        canvas.text(title, x: (left + right) / 2, y: 16, scale: scale, alignment: .centre)
        for tick in Self.ticks(x) {
            let px = point(tick, 0).x
            canvas.line(from: (px, Double(top)), to: (px, Double(bottom)), colour: .lightGrey)
            canvas.text(Self.label(tick, in: x), x: Int(px.rounded()), y: bottom + 8, scale: scale, alignment: .centre)
        }
        canvas.text(xLabel, x: (left + right) / 2, y: bottom + 34, scale: scale, alignment: .centre)
        if let yLabel {
            for tick in Self.ticks(y) {
                let py = point(0, tick).y
                canvas.line(from: (Double(left), py), to: (Double(right), py), colour: .lightGrey)
                canvas.text(Self.label(tick, in: y), x: left - 8, y: Int(py.rounded()) - 7, scale: scale, alignment: .right)
            }
            canvas.text(yLabel, x: 8, y: (top + bottom) / 2, scale: scale, alignment: .centre, vertical: true)
        }
        for (a, b) in [((left, top), (right, top)), ((right, top), (right, bottom)), ((right, bottom), (left, bottom)), ((left, bottom), (left, top))] {
            canvas.line(from: (Double(a.0), Double(a.1)), to: (Double(b.0), Double(b.1)), colour: .black)
        }
    }

    /// About five round values (steps of 1, 2 or 5 times a power of ten) within `range`.
    static func ticks(_ range: ClosedRange<Double>) -> [Double] {
        let span = range.upperBound - range.lowerBound
        guard span > 0, span.isFinite else { return [range.lowerBound] }
        let rough = span / 5, power = pow(10, (log10(rough)).rounded(.down))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= rough } ?? rough
        let first = (range.lowerBound / step).rounded(.up)
        return (0..<20).map { (first + Double($0)) * step }.filter { $0 <= range.upperBound + step * 1e-9 }
    }

    /// A tick's label with as many decimals as the tick step needs.
    static func label(_ value: Double, in range: ClosedRange<Double>) -> String {
        let ticks = ticks(range)
        let step = ticks.count > 1 ? ticks[1] - ticks[0] : 1
        let decimals = max(0, Int((-log10(step)).rounded(.up)))
        return String(format: "%.\(min(decimals, 6))f", abs(value) < step * 1e-9 ? 0 : value)
    }
}

extension Figures {
    /// A video's per-frame score curves over its frames, the anomalous frames of the ground
    /// truth shaded, the first curve drawn thickest (the headline score).
    public static func frameScores(title: String, labels: [Int], curves: [(name: String, scores: [Float])]) -> ImageDecoder.Image {
        let frames = labels.count
        let values = curves.flatMap(\.scores).map(Double.init).filter(\.isFinite)
        var low = min(values.min() ?? 0, 0), high = values.max() ?? 1
        if high - low < 1e-9 { high = low + 1 }
        high += (high - low) * 0.05
        var canvas = Canvas(width: 900, height: 380)
        let axes = Axes(left: 80, top: 50, right: 880, bottom: 290, x: 0...Double(max(frames - 1, 1)), y: low...high)
        // The shading first, so that grid lines and curves stay on top of it.
        // One rectangle per run of anomalous frames: translucent fills must not overlap.
        let step = Double(axes.right - axes.left) / Double(max(frames - 1, 1))
        var frame = 0
        while frame < frames {
            guard labels[frame] == 1 else { frame += 1; continue }
            var end = frame
            while end + 1 < frames, labels[end + 1] == 1 { end += 1 }
            let x0 = max(axes.point(Double(frame), 0).x - step / 2, Double(axes.left))
            let x1 = min(axes.point(Double(end), 0).x + step / 2, Double(axes.right))
            canvas.fill(x: Int(x0.rounded()), y: axes.top, width: max(Int((x1 - x0).rounded()), 1), height: axes.bottom - axes.top,
                        colour: .anomalous, opacity: 0.18)
            frame = end + 1
        }
        axes.draw(on: &canvas, title: title, xLabel: "frame", yLabel: "score")
        let colours: [RGB] = [.black, .normal, RGB(44, 160, 44), .grey]
        for (index, curve) in curves.enumerated() {
            let colour = colours[index % colours.count]
            let points = curve.scores.enumerated().map { axes.point(Double($0.offset), Double($0.element)) }
            for (a, b) in zip(points, points.dropFirst()) {
                canvas.line(from: a, to: b, colour: colour, thickness: index == 0 ? 3 : 1)
            }
            // The legend, below the axis label.
            let x = axes.left + index * 200, y = axes.bottom + 62
            canvas.fill(x: x, y: y + 5, width: 24, height: index == 0 ? 4 : 2, colour: colour)
            canvas.text(curve.name, x: x + 30, y: y, scale: textScale)
        }
        return canvas.image
    }
}
