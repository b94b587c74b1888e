import Foundation
import MOCCA
import MOCCAData
import MOCCAReport
import MOCCATestSupport
import Testing

@Suite("Inspection report folder")
struct ReportWriterTests {
    /// Every `src="..."` and `href="..."` of the page.
    static func references(_ html: String) -> [String] {
        var found: [String] = []
        for attribute in ["src=\"", "href=\""] {
            var rest = html[...]
            while let start = rest.range(of: attribute) {
                rest = rest[start.upperBound...]
                guard let end = rest.firstIndex(of: "\"") else { break }
                found.append(String(rest[..<end]))
                rest = rest[end...]
            }
        }
        return found
    }

    @Test func thePageReferencesOnlyImagesInTheFolder() throws {
        let parent = try makeTemporaryDirectory("report")
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("report")
        let written = try ReportWriter.write(try DemoReport.make(), to: folder)
        #expect(written.first == "index.html")
        let html = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        let sources = Self.references(html)
        #expect(sources.count == 3 + 1 + 6 * 2)
        for source in sources {
            #expect(!source.contains("/") && !source.contains(":"), "\(source) leaves the folder")
            let path = folder.appendingPathComponent(source).path
            #expect(FileManager.default.fileExists(atPath: path), "\(source) is missing")
            #expect((try? ImageDecoder.decode(path: path, channels: 3)) != nil, "\(source) is not a PNG")
        }
        // Self-contained: no script, nothing from the network; the title is escaped.
        #expect(!html.contains("<script") && !html.contains("http"))
        #expect(html.contains("Synthetic surface &lt;demo&gt;"))
        // Nothing is left beside the folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["report"])
    }

    /// Scores 0.1, 0.2, 0.6 (normal) and 0.9, 0.4, 0.7 (anomalous) at threshold 0.5:
    /// TP 2 (0.9, 0.7), FP 1 (0.6), TN 2, FN 1 (0.4).
    @Test func theConfusionMatrixOfATinyCase() throws {
        let scores: [Float] = [0.1, 0.2, 0.6, 0.9, 0.4, 0.7], labels = [0, 0, 0, 1, 1, 1]
        let matrix = ConfusionCounts(scores: scores, labels: labels, threshold: 0.5)
        let counts: [Int] = [matrix.truePositives, matrix.falsePositives, matrix.trueNegatives, matrix.falseNegatives]
        #expect(counts == [2, 1, 2, 1])
        #expect(abs(matrix.precision - 2.0 / 3) < 1e-12 && abs(matrix.recall - 2.0 / 3) < 1e-12)
        #expect(abs(matrix.balancedAccuracy - 2.0 / 3) < 1e-12 && abs(matrix.accuracy - 4.0 / 6) < 1e-12)
        // A score equal to the threshold is called normal.
        #expect(ConfusionCounts(scores: [0.5], labels: [1], threshold: 0.5).falseNegatives == 1)

        let parent = try makeTemporaryDirectory("report-tiny")
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("tiny")
        try ReportWriter.write(InspectionReport(title: "tiny", scores: scores, labels: labels, threshold: 0.5), to: folder)
        let html = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        for cell in ["<td>2 (TP)</td>", "<td>1 (FN)</td>", "<td>1 (FP)</td>", "<td>2 (TN)</td>", "<td>0.6667</td>"] {
            #expect(html.contains(cell), "\(cell) missing")
        }
        #expect(Self.references(html).sorted() == ["histogram.png", "roc.png"])
        // AUROC 8/9 with DeLong's interval: V10 = [1, 2/3, 1] and V01 = [1, 1, 2/3] each have
        // variance 1/27, so SE = √(2/81) and the lower end is 8/9 − 1.96 · 0.15713 = 0.5809.
        #expect(html.contains("<td>0.8889 (95% CI 0.5809–1.0000, DeLong)</td>"), "\(html)")
        // Grouped images: the interval counts the groups.
        try ReportWriter.write(InspectionReport(title: "tiny", scores: scores, labels: labels, threshold: 0.5, groups: [0, 0, 1, 2, 2, 3]), to: folder)
        let grouped = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(grouped.contains("Obuchowski, over 4 groups of images)</td>") && !grouped.contains("DeLong"), "\(grouped)")
    }

    @Test func refusesAFolderThatIsNotAReportAndLeavesItAlone() throws {
        let parent = try makeTemporaryDirectory("report-refuse")
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("photos")
        try writeBytes([1, 2, 3], to: folder.appendingPathComponent("holiday.jpg"))
        let report = InspectionReport(title: "t", scores: [0, 1], labels: [0, 1], threshold: 0.5)
        #expect(throws: ReportError.notAReportFolder(path: folder.path)) { try ReportWriter.write(report, to: folder) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["holiday.jpg"])
        // A plain file in the way is refused too.
        let file = parent.appendingPathComponent("notes.txt")
        try writeBytes([1], to: file)
        #expect(throws: ReportError.notAReportFolder(path: file.path)) { try ReportWriter.write(report, to: file) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).sorted() == ["notes.txt", "photos"])
    }

    @Test func rewritingAReportReplacesItsFilesAndKeepsTheUsers() throws {
        let parent = try makeTemporaryDirectory("report-rewrite")
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("report")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // An empty folder is fine; a report with examples, then one without.
        try ReportWriter.write(try DemoReport.make(examples: 2), to: folder)
        try writeBytes(Array("mine".utf8), to: folder.appendingPathComponent("notes.txt"))
        try ReportWriter.write(InspectionReport(title: "second", scores: [0, 1], labels: [0, 1], threshold: 0.5), to: folder)
        let entries = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(entries == [".mocca-report", "histogram.png", "index.html", "notes.txt", "roc.png"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["report"])
    }

    @Test func aurocPerDefectTypeComparesEachTypeWithTheNormalImages() throws {
        let report = InspectionReport(title: "t", scores: [0.1, 0.5, 0.9, 0.3, 0.6], labels: [0, 0, 1, 1, 1],
                                      defectTypes: ["good", "good", "crack", "crack", "hole"], threshold: 0.5)
        let rows = try report.aurocByDefectType()
        #expect(rows.map(\.type) == ["crack", "hole"])
        #expect(rows.map(\.count) == [2, 1])
        // crack: 0.9 beats both normals, 0.3 beats one of two: 3/4. hole: 0.6 beats both.
        #expect(rows.map(\.auroc) == [0.75, 1])
    }

    @Test func mismatchedPartsAreAnInvalidReport() {
        let bad = [
            InspectionReport(title: "t", scores: [0, 1], labels: [0], threshold: 0),
            InspectionReport(title: "t", scores: [0, 1], labels: [0, 2], threshold: 0),
            InspectionReport(title: "t", scores: [0, 1], labels: [0, 1], defectTypes: ["a"], threshold: 0),
            InspectionReport(title: "t", scores: [0, 1], labels: [0, 1], channelNames: ["a"], channelScores: [[0]], threshold: 0),
            InspectionReport(title: "t", scores: [0, 1], labels: [0, 1], threshold: .nan),
            InspectionReport(title: "t", scores: [0, 1], labels: [0, 1], threshold: 0, examples: [
                .init(name: "x", image: ImageDecoder.Image(width: 2, height: 2, channels: 1, pixels: [0, 0, 0, 0]), anomalyMap: [0], score: 1),
            ]),
        ]
        for report in bad {
            #expect(throws: ReportError.self) { try ReportWriter.write(report, to: URL(fileURLWithPath: "/nonexistent/never")) }
        }
    }

    /// A grey example with a mask and no anomaly map: the image, and a copy with the defect
    /// outlined; no colour scale, since no map is shown.
    @Test func anExampleWithOnlyAMaskIsOutlinedOnItsImage() throws {
        let parent = try makeTemporaryDirectory("report-mask")
        defer { try? FileManager.default.removeItem(at: parent) }
        let image = ImageDecoder.Image(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 90, count: 16))
        var mask = [UInt8](repeating: 0, count: 16)
        mask[5] = 255
        let example = InspectionReport.Example(name: "a&b", image: image, mask: mask, score: 1, label: 1, defectType: "dent")
        let folder = parent.appendingPathComponent("r")
        try ReportWriter.write(InspectionReport(title: "t", scores: [0, 1], labels: [0, 1], threshold: 0.5, examples: [example]), to: folder)
        let html = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(Self.references(html).sorted() == ["example-001-overlay.png", "example-001.png", "histogram.png", "roc.png"])
        #expect(html.contains("a&amp;b") && html.contains("defect outlined"))
        let outlined = try ImageDecoder.decode(path: folder.appendingPathComponent("example-001-overlay.png").path, channels: 3)
        // Pixel 1 (above the defect) is green; the defect itself keeps the image's grey.
        #expect([outlined.pixels[1], outlined.pixels[16 + 1], outlined.pixels[32 + 1]] == [0, 255, 0])
        #expect([outlined.pixels[5], outlined.pixels[16 + 5], outlined.pixels[32 + 5]] == [90, 90, 90])
    }

    @Test func mostAnomalousIsTheHighestScoresFirst() {
        #expect(InspectionReport.mostAnomalous([0.2, 0.9, 0.5, 0.9, 0.1], count: 3) == [1, 3, 2])
        #expect(InspectionReport.mostAnomalous([0.2], count: 5) == [0])
    }

    /// Writes the demo report to `$MOCCA_REPORT_DEMO` when set, for
    /// `scripts/report-screenshot.sh` to look at; nothing otherwise.
    @Test func writesTheDemoReportWhenAsked() throws {
        guard let path = ProcessInfo.processInfo.environment["MOCCA_REPORT_DEMO"], !path.isEmpty else { return }
        try ReportWriter.write(try DemoReport.make(), to: URL(fileURLWithPath: path))
    }
}
