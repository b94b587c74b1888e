import MOCCA
import MOCCAData
@testable import MOCCAReport
import Testing

@Suite("Canvas and figures")
struct FigureTests {
    /// The pixel (x, y) of a planar RGB image.
    static func pixel(_ image: ImageDecoder.Image, _ x: Int, _ y: Int) -> RGB {
        let plane = image.width * image.height, p = y * image.width + x
        return RGB(image.pixels[p], image.pixels[plane + p], image.pixels[2 * plane + p])
    }

    @Test func textIsDrawnFromTheBitmapFont() {
        var canvas = Canvas(width: 12, height: 9)
        canvas.text("1", x: 1, y: 1)
        // The glyph of "1": rows 04 0C 04 04 04 04 0E.
        let rows = (1...7).map { y in (1...5).map { x in Self.pixel(canvas.image, x, y) == RGB(0, 0, 0) ? "#" : "." }.joined() }
        #expect(rows == ["..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."])
        #expect(Canvas.textWidth("ab", scale: 2) == 22)
        // Unknown characters are drawn as "?".
        #expect(BitmapFont.glyph("§") == BitmapFont.glyph("?"))
    }

    @Test func linesAndRectanglesAreClippedToTheCanvas() {
        var canvas = Canvas(width: 10, height: 10)
        canvas.fill(x: -5, y: 8, width: 30, height: 30, colour: RGB(255, 0, 0))
        canvas.line(from: (-20, 0), to: (30, 0), colour: RGB(0, 0, 255), thickness: 3)
        let image = canvas.image
        #expect(Self.pixel(image, 0, 9) == RGB(255, 0, 0) && Self.pixel(image, 9, 8) == RGB(255, 0, 0))
        #expect(Self.pixel(image, 5, 0) == RGB(0, 0, 255) && Self.pixel(image, 5, 1) == RGB(0, 0, 255))
        #expect(Self.pixel(image, 5, 5) == RGB(255, 255, 255))
    }

    @Test func ticksAreRoundNumbers() {
        #expect(Axes.ticks(0...1) == [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1])
        #expect(Axes.ticks(3...17) == [5, 10, 15])
        #expect(Axes.label(0.4, in: 0...1) == "0.4")
        #expect(Axes.label(250, in: 0...1000) == "250")
    }

    @Test func figuresDrawTheirDataInTheirColours() throws {
        let scores: [Float] = [0.1, 0.2, 0.3, 0.35, 0.8, 0.9], labels = [0, 0, 0, 1, 1, 1]
        let roc = try Figures.rocCurve(scores: scores, labels: labels)
        #expect(roc.channels == 3 && roc.pixels.count == 3 * roc.width * roc.height)
        let histogram = try Figures.scoreHistogram(scores: scores, labels: labels, threshold: 0.5)
        let colours = Set((0..<(histogram.width * histogram.height)).map { Self.pixel(histogram, $0 % histogram.width, $0 / histogram.width) })
        // Both classes' bars appear, blended over white.
        #expect(colours.contains(RGB(132, 180, 214)) && colours.contains(RGB(241, 168, 115)))
        let bars = Figures.aurocBars(names: ["a", "a much longer tap name than fits"], values: [0.5, 0.97], title: "t")
        #expect(bars.height > 100)
        #expect(throws: MOCCAError.self) { try Figures.scoreHistogram(scores: [1], labels: [], threshold: nil) }
    }
}
