import Foundation
import MOCCAData
import MOCCAReport
import MOCCATestSupport
import Testing

@Suite("Video report folder")
struct VideoReportTests {
    /// Two videos: the second's frames 4–7 anomalous, where its combined score rises.
    static func report() -> VideoReport {
        let calm: [Float] = [0.1, 0.2, 0.1, 0.3, 0.2, 0.1]
        let second: [Float] = [0.1, 0.2, 0.1, 0.3, 1.8, 1.9, 2.0, 1.7, 0.4]
        return VideoReport(
            title: "Synthetic <videos>", detectorDescription: ["two videos"],
            rows: [.init(name: "combined", auroc: 1, aupr: 1), .init(name: "one-class", auroc: 0.75, aupr: 0.6)],
            taps: [.init(name: "c1", auroc: 0.5, aupr: 0.4), .init(name: "code", auroc: 0.9, aupr: 0.8)],
            videos: [
                .init(name: "01", labels: [0, 0, 0, 0, 0, 0], curves: [("combined", calm), ("one-class", calm.map { $0 / 2 })]),
                .init(name: "02", labels: [0, 0, 0, 0, 1, 1, 1, 1, 0], curves: [("combined", second), ("one-class", second.map { $0 / 2 })]),
            ])
    }

    @Test func writesTheTableTheTapBarsAndOneCurvePerVideo() throws {
        let parent = try makeTemporaryDirectory("video-report")
        defer { try? FileManager.default.removeItem(at: parent) }
        let folder = parent.appendingPathComponent("report")
        let written = try ReportWriter.write(Self.report(), to: folder)
        #expect(written == ["index.html", "taps.png", "video-001.png", "video-002.png"])
        let html = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(html.contains("Synthetic &lt;videos&gt;") && !html.contains("<script"))
        #expect(html.contains("15 frames of 2 videos, 4 anomalous"))
        #expect(html.contains("<td>0.7500</td>"))
        for source in ReportWriterTests.references(html) {
            let path = folder.appendingPathComponent(source).path
            #expect((try? ImageDecoder.decode(path: path, channels: 3)) != nil, "\(source) is not a PNG")
        }
    }

    /// The anomalous frames are shaded in the anomaly colour; the normal video has none.
    @Test func theCurveShadesTheAnomalousFramesOnly() throws {
        let videos = Self.report().videos
        func shaded(_ video: VideoReport.Video) -> Int {
            let image = Figures.frameScores(title: video.name, labels: video.labels, curves: video.curves)
            // The anomaly colour (230, 97, 1) at 18% over white: (251, 227, 209).
            // Planar RGB: the red plane, then the green, then the blue.
            let plane = image.width * image.height, p = image.pixels
            return (0..<plane).filter { p[$0] > 245 && (220...232).contains(p[plane + $0]) && (200...215).contains(p[2 * plane + $0]) }.count
        }
        #expect(shaded(videos[0]) == 0)
        #expect(shaded(videos[1]) > 10_000)
    }

    @Test func mismatchedCurvesAreAnInvalidReport() {
        var report = Self.report()
        report.videos[1].curves[0].scores.removeLast()
        #expect(throws: ReportError.self) { try ReportWriter.write(report, to: URL(fileURLWithPath: "/nonexistent/never")) }
        report = Self.report()
        report.videos[0].labels[0] = 2
        #expect(throws: ReportError.self) { try report.validate() }
        report = Self.report()
        report.videos = []
        #expect(throws: ReportError.self) { try report.validate() }
    }
}
