import Foundation
import MOCCA
import MOCCACore
import MOCCAData

/// Writes an ``InspectionReport`` as a folder: `index.html`, self-contained (inline CSS,
/// no scripts, nothing fetched from the network), beside the PNG figures and example
/// images it shows.
///
/// The folder appears whole or not at all: everything is written into a hidden staging
/// folder beside the destination, which then replaces it by renames. An existing
/// destination is replaced only when it is empty or a report folder (it holds the
/// ``markerName`` file listing what the writer put there); files the user added to an
/// earlier report are carried over. Any other folder is refused, never emptied.
public enum ReportWriter {
    /// The file that marks a folder as a report and lists the files the writer made.
    public static let markerName = ".mocca-report"

    /// Writes `report` into the folder `destination` and returns the names of the files
    /// written, `index.html` first.
    /// - Throws: ``ReportError/invalidReport(_:)`` when the values do not fit together,
    ///   ``ReportError/notAReportFolder(path:)`` when the destination is another folder
    ///   or a file, and ``ReportError/unwritable(path:reason:)``.
    @discardableResult
    public static func write(_ report: InspectionReport, to destination: URL) throws -> [String] {
        try report.validate()
        return try write(files: try render(report), to: destination)
    }

    /// Writes a video report into the folder `destination`, as
    /// ``write(_:to:)-(InspectionReport,_)`` does, and returns the names of the files written.
    @discardableResult
    public static func write(_ report: VideoReport, to destination: URL) throws -> [String] {
        try report.validate()
        return try write(files: render(report), to: destination)
    }

    /// Stages `files` and swaps them in at `destination` (see the type's discussion).
    private static func write(files: [(name: String, contents: Contents)], to destination: URL) throws -> [String] {
        let folder = destination.standardizedFileURL
        let fileManager = FileManager.default
        let previousFiles = try reportFiles(at: folder)
        let parent = folder.deletingLastPathComponent(), pid = ProcessInfo.processInfo.processIdentifier
        let staging = parent.appendingPathComponent(".\(folder.lastPathComponent).partial-\(pid)")
        do {
            try? fileManager.removeItem(at: staging)
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
            defer { try? fileManager.removeItem(at: staging) }
            for (name, contents) in files {
                switch contents {
                case .text(let text): try AtomicFile.write(Data(text.utf8), to: staging.appendingPathComponent(name))
                case .image(let image): try ImageEncoder.writePNG(image, to: staging.appendingPathComponent(name))
                }
            }
            let names = files.map(\.name)
            try AtomicFile.write(Data((names.joined(separator: "\n") + "\n").utf8), to: staging.appendingPathComponent(markerName))
            if let previousFiles {
                // Swap by renames; the old report goes only once the new one is in place.
                let previous = parent.appendingPathComponent(".\(folder.lastPathComponent).previous-\(pid)")
                try? fileManager.removeItem(at: previous)
                try fileManager.moveItem(at: folder, to: previous)
                do { try fileManager.moveItem(at: staging, to: folder) } catch {
                    try? fileManager.moveItem(at: previous, to: folder)
                    throw error
                }
                let made = previousFiles.union([markerName])
                for entry in try fileManager.contentsOfDirectory(atPath: previous.path) where !made.contains(entry) && !names.contains(entry) {
                    try fileManager.moveItem(at: previous.appendingPathComponent(entry), to: folder.appendingPathComponent(entry))
                }
                try fileManager.removeItem(at: previous)
            } else {
                try fileManager.moveItem(at: staging, to: folder)
            }
            return names
        } catch let error as ReportError {
            throw error
        } catch {
            throw ReportError.unwritable(path: folder.path, reason: "\(error.localizedDescription)")
        }
    }

    /// The files an earlier report at `folder` made: nil when nothing is there, empty
    /// for an empty folder.
    /// - Throws: ``ReportError/notAReportFolder(path:)`` for a file, or a folder with
    ///   entries but no marker.
    private static func reportFiles(at folder: URL) throws -> Set<String>? {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) else { return nil }
        guard isFolder.boolValue else { throw ReportError.notAReportFolder(path: folder.path) }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        if entries.isEmpty { return [] }
        guard let marker = FileManager.default.contents(atPath: folder.appendingPathComponent(markerName).path) else {
            throw ReportError.notAReportFolder(path: folder.path)
        }
        return Set(String(decoding: marker, as: UTF8.self).split(separator: "\n").map(String.init))
    }

    /// A file of the report, before it is written.
    enum Contents {
        case text(String)
        case image(ImageDecoder.Image)
    }

    /// Every file of the report, `index.html` first, by name.
    static func render(_ report: InspectionReport) throws -> [(name: String, contents: Contents)] {
        let metrics = try report.evaluation { try DetectionMetrics(scores: report.scores, labels: report.labels, groups: report.groups) }
        let confusion = ConfusionCounts(scores: report.scores, labels: report.labels, threshold: report.threshold)
        var files: [(name: String, contents: Contents)] = []
        var page = HTMLPage(title: report.title)
        page.add("<h1>\(escape(report.title))</h1>")
        if !report.detectorDescription.isEmpty {
            page.add("<ul class=\"description\">" + report.detectorDescription.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }

        page.add("<h2>Image-level results</h2>")
        let normals = report.labels.filter { $0 == 0 }.count
        var summary: [(String, String)] = [
            ("test images", "\(report.scores.count) (\(normals) normal, \(report.scores.count - normals) anomalous)"),
            ("AUROC", format(metrics.auroc) + (metrics.aurocInterval95.map {
                " (95% CI \(format($0.lowerBound))–\(format($0.upperBound)), "
                    + (metrics.aurocGroupCount.map { "Obuchowski, over \($0) groups of images)" } ?? "DeLong)")
            } ?? "")), ("AUPR", format(metrics.aupr)),
            ("best balanced accuracy", format(metrics.maxBalancedAccuracy)), ("best F1", format(metrics.maxF1)),
        ]
        if let pixel = report.pixelMetrics {
            summary += [("pixel AUROC", format(pixel.pixel.auroc) + (pixel.pixel.aurocInterval95.map {
                             " (95% CI \(format($0.lowerBound))–\(format($0.upperBound)), Obuchowski, over \(pixel.pixel.aurocGroupCount ?? 0) "
                                 + (metrics.aurocGroupCount == nil ? "images)" : "groups of images)")
                         } ?? "")),
                        (String(format: "PRO (to FPR %.2g)", pixel.fprLimit), format(pixel.pro)),
                        ("defect regions", "\(pixel.regionCount)")]
        }
        page.add(table(header: nil, rows: summary.map { [$0.0, $0.1] }, className: "summary"))

        page.add("<h2>At the threshold \(escape(String(format: "%.6g", report.threshold)))</h2>")
        page.add("<p>A test image is called anomalous when its score is above the threshold.</p>")
        page.add(table(header: ["", "called anomalous", "called normal"], rows: [
            ["anomalous", "\(confusion.truePositives) (TP)", "\(confusion.falseNegatives) (FN)"],
            ["normal", "\(confusion.falsePositives) (FP)", "\(confusion.trueNegatives) (TN)"],
        ], className: "confusion"))
        page.add(table(header: ["precision", "recall", "specificity", "balanced accuracy", "accuracy", "F1"], rows: [
            [confusion.precision, confusion.recall, confusion.specificity, confusion.balancedAccuracy, confusion.accuracy, confusion.f1].map(format),
        ], className: "rates"))

        page.add("<h2>Figures</h2><div class=\"figures\">")
        files.append(("roc.png", .image(try report.evaluation { try Figures.rocCurve(scores: report.scores, labels: report.labels) })))
        page.add(figure("roc.png", caption: "ROC curve of the image scores"))
        files.append(("histogram.png", .image(try report.evaluation {
            try Figures.scoreHistogram(scores: report.scores, labels: report.labels, threshold: report.threshold)
        })))
        page.add(figure("histogram.png", caption: "Score histograms; the dashed line is the threshold"))
        if !report.channelNames.isEmpty {
            let aurocs = try report.channelScores.map { channel in
                try report.evaluation { try DetectionMetrics(scores: channel, labels: report.labels).auroc }
            }
            files.append(("taps.png", .image(Figures.aurocBars(names: report.channelNames, values: aurocs, title: "AUROC per tap"))))
            page.add(figure("taps.png", caption: "The AUROC of each score channel on its own"))
        }
        page.add("</div>")

        let byType = try report.aurocByDefectType()
        if !byType.isEmpty {
            page.add("<h2>AUROC per defect type</h2>")
            page.add("<p>Each defect type's images against all \(normals) normal images.</p>")
            page.add(table(header: ["defect type", "images", "AUROC"],
                           rows: byType.map { [$0.type, "\($0.count)", format($0.auroc)] }, className: "types"))
        }

        if !report.examples.isEmpty {
            page.add("<h2>The \(report.examples.count) most anomalous test images</h2>")
            page.add(try examples(report, files: &files))
        }
        files.insert(("index.html", .text(page.html)), at: 0)
        return files
    }

    /// Every file of a video report, `index.html` first, by name: the results table, the
    /// per-tap bars, and one curve per video.
    static func render(_ report: VideoReport) -> [(name: String, contents: Contents)] {
        var files: [(name: String, contents: Contents)] = []
        var page = HTMLPage(title: report.title)
        page.add("<h1>\(escape(report.title))</h1>")
        if !report.detectorDescription.isEmpty {
            page.add("<ul class=\"description\">" + report.detectorDescription.map { "<li>\(escape($0))</li>" }.joined() + "</ul>")
        }
        let frames = report.videos.reduce(0) { $0 + $1.labels.count }
        let anomalous = report.videos.reduce(0) { $0 + $1.labels.filter { $0 == 1 }.count }
        page.add("<h2>Frame-level results</h2>")
        page.add("<p>\(frames) frames of \(report.videos.count) videos, \(anomalous) anomalous; every score is min-max normalised within its video before the frames of all videos are ranked together.</p>")
        page.add(table(header: ["score", "AUROC", "AUPR"], rows: report.rows.map { [$0.name, format($0.auroc), format($0.aupr)] }, className: "types"))
        if !report.taps.isEmpty {
            files.append(("taps.png", .image(Figures.aurocBars(names: report.taps.map(\.name), values: report.taps.map(\.auroc), title: "Frame AUROC per tap"))))
            page.add("<div class=\"figures\">" + figure("taps.png", caption: "The frame-level AUROC of each tap's score on its own") + "</div>")
        }
        page.add("<h2>Per-video scores</h2>")
        page.add("<p>Each video's scores over its frames; the shaded frames are anomalous in the ground truth.</p>")
        for (index, video) in report.videos.enumerated() {
            let file = String(format: "video-%03d.png", index + 1)
            files.append((file, .image(Figures.frameScores(title: video.name, labels: video.labels, curves: video.curves))))
            page.add(figure(file, caption: "\(video.name): \(video.labels.count) frames, \(video.labels.filter { $0 == 1 }.count) anomalous"))
        }
        files.insert(("index.html", .text(page.html)), at: 0)
        return files
    }

    /// The example cards, adding each example's image and overlay to `files`. The heat
    /// maps share one colour range, the lowest to the highest value of all maps shown,
    /// so that their colours compare.
    private static func examples(_ report: InspectionReport, files: inout [(name: String, contents: Contents)]) throws -> String {
        let values = report.examples.compactMap(\.anomalyMap).flatMap { $0 }
        let range = (values.min() ?? 0)...(values.max() ?? 1)
        var html = ""
        if !values.isEmpty {
            files.append(("colourbar.png", .image(Figures.colourBar(range: range))))
            html += "<p>The heat maps share one colour scale; a green line outlines the true defect.</p>"
                + "<img class=\"colourbar\" src=\"colourbar.png\" alt=\"colour scale of the anomaly maps\">"
        }
        html += "<div class=\"examples\">"
        for (index, example) in report.examples.enumerated() {
            let stem = String(format: "example-%03d", index + 1)
            files.append(("\(stem).png", .image(example.image)))
            var pictures = figure("\(stem).png", caption: "image")
            if example.anomalyMap != nil || example.mask != nil {
                let map = example.anomalyMap ?? [Float](repeating: range.lowerBound, count: example.image.width * example.image.height)
                let overlay = try report.evaluation {
                    try HeatMap.overlay(map, range: range, on: example.image, mask: example.mask,
                                        opacity: example.anomalyMap == nil ? 0 : 0.5)
                }
                files.append(("\(stem)-overlay.png", .image(overlay)))
                let caption = (example.anomalyMap == nil ? "" : "anomaly map") + (example.mask == nil ? "" : (example.anomalyMap == nil ? "" : ", ") + "defect outlined")
                pictures += figure("\(stem)-overlay.png", caption: caption)
            }
            let called = example.score > report.threshold ? "called anomalous" : "called normal"
            let truth = example.label.map { $0 == 1 ? "anomalous" : "normal" }
            let wrong = example.label.map { ($0 == 1) != (example.score > report.threshold) } ?? false
            var facts = ["score \(String(format: "%.5g", example.score))", called]
            if let truth { facts.append("truth: " + truth + (example.defectType.map { " (\($0))" } ?? "")) }
            html += "<div class=\"example\(wrong ? " wrong" : "")\"><h3>\(index + 1). \(escape(example.name))</h3>"
                + "<div class=\"pair\">\(pictures)</div><p>\(facts.map(escape).joined(separator: " · "))</p></div>"
        }
        return html + "</div>"
    }

    private static func figure(_ file: String, caption: String) -> String {
        "<figure><img src=\"\(file)\" alt=\"\(escape(caption))\"><figcaption>\(escape(caption))</figcaption></figure>"
    }

    private static func table(header: [String]?, rows: [[String]], className: String) -> String {
        var html = "<table class=\"\(className)\">"
        if let header { html += "<tr>" + header.map { "<th>\(escape($0))</th>" }.joined() + "</tr>" }
        for row in rows {
            html += "<tr>" + row.enumerated().map { $0 == 0 && header?.first == "" ? "<th>\(escape($1))</th>" : "<td>\(escape($1))</td>" }.joined() + "</tr>"
        }
        return html + "</table>"
    }

    private static func format(_ value: Double) -> String { String(format: "%.4f", value) }

    /// `text` with the characters HTML gives a meaning escaped.
    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// A page under construction: its parts in order, wrapped with the head and the style
/// sheet.
struct HTMLPage {
    let title: String
    private var parts: [String] = []

    init(title: String) { self.title = title }

    mutating func add(_ html: String) { parts.append(html) }

    var html: String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="generator" content="swift-mocca">
        <title>\(ReportWriter.escape(title))</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
        h1 { font-size: 1.6em; border-bottom: 2px solid #1f77b4; padding-bottom: .3em; }
        h2 { font-size: 1.25em; margin-top: 1.6em; }
        h3 { font-size: 1em; margin: .2em 0 .5em; overflow-wrap: anywhere; }
        ul.description { color: #444; }
        table { border-collapse: collapse; margin: .6em 0; }
        th, td { border: 1px solid #ccc; padding: .3em .8em; text-align: right; }
        th { background: #f3f3f3; }
        table.summary td:first-child, table.types td:first-child { text-align: left; }
        .figures { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
        .figures img { max-width: 100%; height: auto; border: 1px solid #ddd; }
        figure { margin: 0; }
        figcaption { font-size: .85em; color: #555; }
        .examples { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 1em; }
        .example { border: 1px solid #ddd; border-radius: 6px; padding: .6em; }
        .example.wrong { border-color: #e66101; background: #fff6ef; }
        .example p { margin: .4em 0 0; font-size: .9em; }
        .pair { display: flex; gap: .5em; }
        .pair figure { flex: 1; }
        .pair img { width: 100%; image-rendering: pixelated; }
        img.colourbar { display: block; max-width: 100%; margin-bottom: .8em; }
        </style></head><body>
        \(parts.joined(separator: "\n"))
        </body></html>

        """
    }
}
