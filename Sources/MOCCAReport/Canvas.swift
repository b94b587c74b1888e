import MOCCAData

/// An RGB colour, 8 bits per channel.
public struct RGB: Sendable, Hashable {
    /// The channels.
    public var red: UInt8, green: UInt8, blue: UInt8

    /// A colour from its channels.
    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        (self.red, self.green, self.blue) = (red, green, blue)
    }

    static let white = RGB(255, 255, 255), black = RGB(0, 0, 0), grey = RGB(150, 150, 150), lightGrey = RGB(225, 225, 225)
    /// The normal and the anomalous class in every figure (colour-blind safe blue and orange).
    static let normal = RGB(31, 119, 180), anomalous = RGB(230, 97, 1)
}

/// A small raster to draw figures on: filled rectangles, lines and bitmap text on RGB
/// pixels, turned into an ``ImageDecoder/Image`` for ``ImageEncoder``. Drawing outside
/// the canvas is clipped, never an error.
public struct Canvas: Sendable {
    /// Where text is placed relative to the point given.
    public enum Alignment: Sendable { case left, centre, right }

    /// The canvas's size in pixels.
    public let width: Int, height: Int
    /// The pixels, row-major and interleaved RGB.
    public private(set) var pixels: [UInt8]

    /// A canvas of `width × height` pixels (at least 1×1) filled with `background`.
    public init(width: Int, height: Int, background: RGB = RGB(255, 255, 255)) {
        self.width = max(width, 1)
        self.height = max(height, 1)
        pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        fill(x: 0, y: 0, width: self.width, height: self.height, colour: background)
    }

    /// Paints pixel (`x`, `y`), blending `colour` over it with `opacity`.
    public mutating func plot(x: Int, y: Int, colour: RGB, opacity: Double = 1) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3, a = min(max(opacity, 0), 1)
        func mix(_ old: UInt8, _ new: UInt8) -> UInt8 {
            a >= 1 ? new : UInt8((Double(old) + (Double(new) - Double(old)) * a).rounded())
        }
        pixels[i] = mix(pixels[i], colour.red)
        pixels[i + 1] = mix(pixels[i + 1], colour.green)
        pixels[i + 2] = mix(pixels[i + 2], colour.blue)
    }

    /// Fills the rectangle with its top-left corner at (`x`, `y`).
    public mutating func fill(x: Int, y: Int, width w: Int, height h: Int, colour: RGB, opacity: Double = 1) {
        for row in max(y, 0)..<max(min(y + h, height), max(y, 0)) {
            for column in max(x, 0)..<max(min(x + w, width), max(x, 0)) {
                plot(x: column, y: row, colour: colour, opacity: opacity)
            }
        }
    }

    /// Draws a straight line `thickness` pixels wide; with `dash`, alternately `dash`
    /// pixels drawn and `dash` left out.
    public mutating func line(from start: (x: Double, y: Double), to end: (x: Double, y: Double), colour: RGB,
                              thickness: Int = 1, dash: Int? = nil) {
        guard start.x.isFinite, start.y.isFinite, end.x.isFinite, end.y.isFinite else { return }
        let steps = Int(max(abs(end.x - start.x), abs(end.y - start.y)).rounded(.up))
        guard steps < 1_000_000 else { return }
        let offset = (thickness - 1) / 2
        for step in 0...steps {
            if let dash, dash > 0, (step / dash) % 2 == 1 { continue }
            let t = steps == 0 ? 0 : Double(step) / Double(steps)
            let x = Int((start.x + (end.x - start.x) * t).rounded()), y = Int((start.y + (end.y - start.y) * t).rounded())
            fill(x: x - offset, y: y - offset, width: thickness, height: thickness, colour: colour)
        }
    }

    /// The width in pixels of `text` drawn at `scale`.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        max(text.count * BitmapFont.advance - 1, 0) * scale
    }

    /// The height in pixels of a line of text at `scale`.
    public static func textHeight(scale: Int = 1) -> Int { BitmapFont.glyphHeight * scale }

    /// Draws `text` in the 5×7 font enlarged `scale` times, its top at `y` and its left
    /// end, centre or right end at `x`; `vertical` text reads upwards, turned a quarter
    /// anticlockwise, with its left side at `x` and its start, centre or end at `y`.
    public mutating func text(_ text: String, x: Int, y: Int, colour: RGB = RGB(0, 0, 0), scale: Int = 1,
                              alignment: Alignment = .left, vertical: Bool = false) {
        let length = Self.textWidth(text, scale: scale)
        let shift = alignment == .left ? 0 : alignment == .centre ? length / 2 : length
        var start = vertical ? y + shift : x - shift
        for character in text {
            for (row, bits) in BitmapFont.glyph(character).enumerated() {
                for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                    if vertical {
                        fill(x: x + row * scale, y: start - (column + 1) * scale, width: scale, height: scale, colour: colour)
                    } else {
                        fill(x: start + column * scale, y: y + row * scale, width: scale, height: scale, colour: colour)
                    }
                }
            }
            start += (vertical ? -1 : 1) * BitmapFont.advance * scale
        }
    }

    /// The canvas as a planar RGB image.
    public var image: ImageDecoder.Image {
        let plane = width * height
        var planar = [UInt8](repeating: 0, count: plane * 3)
        for p in 0..<plane {
            for c in 0..<3 { planar[c * plane + p] = pixels[p * 3 + c] }
        }
        return ImageDecoder.Image(width: width, height: height, channels: 3, pixels: planar)
    }
}
