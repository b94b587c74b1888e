import MOCCATestSupport
import CTurboJPEG
import Foundation
import MOCCACore
import MOCCAData
import Testing

/// Writes `bytes` to a fresh folder and returns the file's path and the folder.
private func writeTemporary(_ bytes: [UInt8], name: String) throws -> (path: String, directory: URL) {
    let directory = try makeTemporaryDirectory("decoder")
    let url = directory.appendingPathComponent(name)
    try writeBytes(bytes, to: url)
    return (url.path, directory)
}

/// Decodes `bytes` written to a temporary file named `name`.
private func decode(_ bytes: [UInt8], name: String = "image.png", channels: Int,
                    maximumPixels: Int = ImageDecoder.maximumPixels) throws -> ImageDecoder.Image {
    let (path, directory) = try writeTemporary(bytes, name: name)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try ImageDecoder.decode(path: path, channels: channels, maximumPixels: maximumPixels)
}

/// Interleaved `[H, W, C]` to planar `[C, H, W]`.
private func planar(_ pixels: [UInt8], channels: Int) -> [UInt8] {
    let plane = pixels.count / channels
    return (0..<channels).flatMap { c in (0..<plane).map { pixels[$0 * channels + c] } }
}

@Suite("PNG bit depths, alpha and gamma")
struct PNGSampleTests {
    /// Every 16-bit value once, as a 256×256 grey image.
    static let everyValue = (0...65535).map { UInt16($0) }

    /// The correctly rounded 8-bit value of a 16-bit sample.
    static func eightBit(_ value: UInt16) -> UInt8 { UInt8((UInt32(value) * 255 + 32767) / 65535) }

    /// libpng's simplified API took 16-bit samples for linear light and re-encoded them
    /// to sRGB (16-bit 0x2000 became 0x89 instead of 0x20); now each sample is scaled.
    @Test(arguments: [nil, 1.0, 1 / 2.2])
    func sixteenBitGreyScalesEverySampleToTheNearest8BitValue(gamma: Double?) throws {
        let png = makePNG(width: 256, height: 256, colorType: .grey, bitDepth: 16, samples: Self.everyValue,
                          before: gamma.map { [gammaChunk($0)] } ?? [])
        let image = try decode(png, channels: 1)
        #expect(image.width == 256 && image.height == 256 && image.channels == 1)
        let expected = Self.everyValue.map(Self.eightBit)
        let wrong = zip(image.pixels, expected).filter { $0 != $1 }.count
        #expect(wrong == 0, "\(wrong) of 65536 samples differ; 0x2000 gives \(image.pixels[0x2000]), expected \(expected[0x2000])")
    }

    /// Samples `(x · 37 + y · 11 + s · 71 + seed) mod 256`, for each of `samples` per pixel,
    /// with alpha (when present) spanning transparent to opaque.
    static func samples8(width: Int, height: Int, colorType: PNGColorType, seed: Int) -> [UInt8] {
        (0..<(width * height)).flatMap { p in
            (0..<colorType.samples).map { s in
                UInt8(truncatingIfNeeded: (p % width) * 37 + (p / width) * 11 + s * 71 + seed)
            }
        }
    }

    /// Each 8-bit sample `v` as 16 bits `257 v ± d` (|d| ≤ 120), which still rounds to `v`.
    static func widened(_ samples: [UInt8]) -> [UInt16] {
        samples.enumerated().map { i, v in
            let d = (i * 53) % 241 - 120
            return UInt16(clamping: Int(v) * 257 + d)
        }
    }

    /// The same image stored in 8 and in 16 bits decodes to the same pixels, for every
    /// colour type with 16-bit samples, to grey and to RGB; alpha is dropped, not
    /// composited (colour samples under alpha 0 survive), so both equal the stored
    /// colour (or its luma, or the repeated grey).
    @Test(arguments: [PNGColorType.grey, .greyAlpha, .rgb, .rgba])
    func eightAndSixteenBitCopiesDecodeToTheSamePixels(colorType: PNGColorType) throws {
        let (width, height) = (7, 5)
        let narrow = Self.samples8(width: width, height: height, colorType: colorType, seed: 3)
        let png8 = makePNG(width: width, height: height, colorType: colorType, bitDepth: 8, samples: narrow.map(UInt16.init))
        let png16 = makePNG(width: width, height: height, colorType: colorType, bitDepth: 16, samples: Self.widened(narrow))
        let colour = colorType == .rgb || colorType == .rgba
        let pixels = (0..<(width * height)).map { p in Array(narrow[(p * colorType.samples)..<(p * colorType.samples + (colour ? 3 : 1))]) }
        let grey = pixels.map { colour ? luma($0[0], $0[1], $0[2]) : $0[0] }
        let rgb = colour ? planar(pixels.flatMap { $0 }, channels: 3) : grey + grey + grey
        for channels in [1, 3] {
            let a = try decode(png8, channels: channels), b = try decode(png16, channels: channels)
            #expect(a.pixels == b.pixels, "\(colorType), \(channels) channels")
            #expect(a.pixels == (channels == 1 ? grey : rgb), "\(colorType), \(channels) channels")
        }
    }

    /// A gAMA chunk changes nothing: an 8-bit file declaring linear samples decodes as stored.
    @Test func gammaChunkOfAnEightBitFileIsIgnored() throws {
        let samples = Self.samples8(width: 6, height: 4, colorType: .rgb, seed: 9)
        let png = makePNG(width: 6, height: 4, colorType: .rgb, bitDepth: 8, samples: samples.map(UInt16.init), before: [gammaChunk(1)])
        #expect(try decode(png, channels: 3).pixels == planar(samples, channels: 3))
    }

    /// A palette with transparency decodes to the palette's colours; alpha is dropped.
    @Test func paletteWithTransparencyDecodesToItsColours() throws {
        let palette: [[UInt8]] = [[255, 0, 0], [0, 128, 255], [10, 20, 30], [200, 200, 0]]
        let indices: [UInt16] = [0, 1, 2, 3, 3, 2, 1, 0]
        let png = makePNG(width: 4, height: 2, colorType: .palette, bitDepth: 8, samples: indices,
                          before: [pngChunk("PLTE", palette.flatMap { $0 }), pngChunk("tRNS", [0, 128, 255, 40])])
        let colours = indices.flatMap { palette[Int($0)] }
        #expect(try decode(png, channels: 3).pixels == planar(colours, channels: 3))
        #expect(try decode(png, channels: 1).pixels == indices.map { let c = palette[Int($0)]; return luma(c[0], c[1], c[2]) })
    }
}

@Suite("CMYK JPEGs and unsupported files")
struct CMYKJPEGTests {
    /// Flat 8×8 blocks (one JPEG block each, so no ringing between colours).
    static let colours: [[UInt8]] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255],
                                     [0, 0, 0], [200, 120, 40], [30, 160, 220], [128, 128, 128]]

    /// Interleaved pixels of a 32×16 image of the colours in a 4×2 grid of 8×8 blocks,
    /// `map` turning each RGB colour into the stored samples.
    static func blocks(_ map: ([UInt8]) -> [UInt8]) -> [UInt8] {
        (0..<16).flatMap { y in (0..<32).flatMap { x in map(colours[(y / 8) * 4 + x / 8]) } }
    }

    /// TurboJPEG writes CMYK input as a YCCK JPEG (Adobe transform 2), which libjpeg
    /// cannot turn into RGB and was reported as corrupt. Written from libjpeg-turbo's
    /// own inverted CMYK of known colours, it decodes back to them within JPEG tolerance.
    @Test func cmykJPEGWrittenByTurboJPEGDecodesBackToItsColours() throws {
        let cmyk = Self.blocks { adobeCMYK(red: $0[0], green: $0[1], blue: $0[2]) }
        let jpeg = try makeJPEG(width: 32, height: 16, format: TJPF_CMYK, pixels: cmyk, quality: 95)
        #expect(try jpegColorspace(jpeg) == Int32(TJCS_YCCK.rawValue))
        let rgb = try decode(jpeg, name: "cmyk.jpg", channels: 3)
        let grey = try decode(jpeg, name: "cmyk.jpg", channels: 1)
        #expect(rgb.width == 32 && rgb.height == 16 && rgb.channels == 3)
        var worst = 0
        for y in 0..<16 {
            for x in 0..<32 {
                let colour = Self.colours[(y / 8) * 4 + x / 8], p = y * 32 + x
                for c in 0..<3 { worst = max(worst, abs(Int(rgb.pixels[c * 512 + p]) - Int(colour[c]))) }
                worst = max(worst, abs(Int(grey.pixels[p]) - Int(luma(colour[0], colour[1], colour[2]))))
            }
        }
        #expect(worst <= 4, "largest difference \(worst) grey levels")
    }

    /// The inverted convention exactly: RGB = C·K/255 of TurboJPEG's decoded CMYK, checked
    /// on colours that are not round trips of RGB (K below 255 with C, M, Y below 255).
    @Test func cmykSamplesConvertByTheAdobeInvertedConvention() throws {
        let stored: [UInt8] = [200, 100, 50, 180]
        let jpeg = try makeJPEG(width: 8, height: 8, format: TJPF_CMYK, pixels: Array((0..<64).map { _ in stored }.joined()))
        let rgb = try decode(jpeg, name: "ink.jpg", channels: 3)
        let expected = (0..<3).map { Int((Double(stored[$0]) * Double(stored[3]) / 255).rounded()) }
        for c in 0..<3 {
            let plane = rgb.pixels[(c * 64)..<((c + 1) * 64)]
            #expect(plane.allSatisfy { abs(Int($0) - expected[c]) <= 2 }, "channel \(c): \(Array(plane.prefix(4))) vs \(expected[c])")
        }
    }

    /// Asserts `error` is ``DataError/unsupported(path:message:)`` for `path`, saying so.
    static func expectUnsupported(_ error: DataError?, path: String, mentioning detail: String,
                                  sourceLocation: SourceLocation = #_sourceLocation) {
        guard case .unsupported(let reported, _)? = error else {
            Issue.record("expected DataError.unsupported, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        let text = error?.description ?? ""
        #expect(reported == path, sourceLocation: sourceLocation)
        #expect(text.contains(path) && text.contains("valid") && text.contains("unsupported") && text.contains(detail),
                "\(text)", sourceLocation: sourceLocation)
    }

    /// Lossless (SOF3) and 12-bit JPEGs are valid files libjpeg-turbo 2.1 cannot read;
    /// made here by editing the frame header of a baseline JPEG.
    @Test(arguments: [("lossless", 1, 0xC3 as UInt8, "SOF type 0xc3"), ("12-bit", 4, 12, "precision 12")])
    func validJPEGsUsingMissingFeaturesAreUnsupportedNotCorrupt(name: String, offset: Int, value: UInt8, detail: String) throws {
        var jpeg = try makeJPEG(width: 16, height: 16, format: TJPF_GRAY, pixels: (0..<256).map { UInt8($0) })
        let sof = try #require(startOfFrame(jpeg))
        jpeg[sof + offset] = value  // the marker's second byte, or the sample precision
        let (path, directory) = try writeTemporary(jpeg, name: "\(name).jpg")
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: DataError.self) { try ImageDecoder.decode(path: path, channels: 3) }
        Self.expectUnsupported(error, path: path, mentioning: detail)
    }

    /// The first bytes of files in other formats.
    static let otherFormats: [(String, [UInt8])] = [
        ("GIF", Array("GIF89a".utf8) + [1, 0, 1, 0, 0, 0, 0]),
        ("BMP", Array("BM".utf8) + [UInt8](repeating: 0, count: 12) + [40] + [UInt8](repeating: 0, count: 47)),
        ("WebP", Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBPVP8 ".utf8)),
    ]

    @Test(arguments: CMYKJPEGTests.otherFormats)
    func otherImageFormatsAreNamedAsUnsupported(format: String, bytes: [UInt8]) throws {
        let (path, directory) = try writeTemporary(bytes, name: "picture.png")
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: DataError.self) { try ImageDecoder.decode(path: path, channels: 3) }
        Self.expectUnsupported(error, path: path, mentioning: format)
    }

    /// Two letters are not a format: "BM" followed by garbage is corrupt, not a BMP.
    @Test func garbageStartingWithBMIsMalformed() throws {
        let (path, directory) = try writeTemporary(Array("BM".utf8) + [UInt8](repeating: 0xA5, count: 40), name: "x.png")
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = #expect(throws: DataError.self) { try ImageDecoder.decode(path: path, channels: 1) }
        guard case .malformed(let reported, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(reported == path)
    }
}

@Suite("Decompression bombs")
struct DecompressionBombTests {
    /// A 30000×20000 8-bit RGB PNG header with one tiny, valid IDAT: 65 bytes that would
    /// decode to 1.8 GB.
    static let bombPNG: [UInt8] = {
        let header = bigEndian(30000) + bigEndian(20000) + [8, 2, 0, 0, 0]
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", header)
            + pngChunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]) + pngChunk("IEND", [])
    }()

    /// Asserts that decoding `bytes` is refused as too large, naming the file, the
    /// declared size and the limit, well within a second (before any allocation).
    static func expectRefused(_ bytes: [UInt8], name: String, width: Int, height: Int, limit: Int = ImageDecoder.maximumPixels,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (path, directory) = try writeTemporary(bytes, name: name)
        defer { try? FileManager.default.removeItem(at: directory) }
        let clock = ContinuousClock(), start = clock.now
        let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) {
            try ImageDecoder.decode(path: path, channels: 3, maximumPixels: limit)
        }
        let elapsed = clock.now - start
        #expect(error == .tooLarge(path: path, width: width, height: height, limit: limit), sourceLocation: sourceLocation)
        let text = error?.description ?? ""
        #expect(text.contains(path) && text.contains("\(width)x\(height)") && text.contains("megapixels"), "\(text)", sourceLocation: sourceLocation)
        #expect(elapsed < .milliseconds(500), "took \(elapsed)", sourceLocation: sourceLocation)
    }

    @Test func pngDeclaring30000By20000IsRefusedAtOnce() throws {
        #expect(Self.bombPNG.count < 150)
        try Self.expectRefused(Self.bombPNG, name: "bomb.png", width: 30000, height: 20000)
    }

    @Test func jpegDeclaring30000By20000IsRefusedAtOnce() throws {
        var jpeg = try makeJPEG(width: 16, height: 16, format: TJPF_GRAY, pixels: [UInt8](repeating: 90, count: 256))
        let sof = try #require(startOfFrame(jpeg))
        // FF C0, length (2), precision (1), then height and width, big-endian.
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [UInt8(20000 >> 8), UInt8(20000 & 0xFF), UInt8(30000 >> 8), UInt8(30000 & 0xFF)])
        try Self.expectRefused(jpeg, name: "bomb.jpg", width: 30000, height: 20000)
    }

    /// The limit is inclusive and can be lowered (or raised) per call.
    @Test func limitIsInclusiveAndAdjustable() throws {
        let png = makePNG(width: 64, height: 64, colorType: .grey, bitDepth: 8, samples: [UInt16](repeating: 7, count: 4096))
        #expect(try decode(png, channels: 1, maximumPixels: 4096).pixels == [UInt8](repeating: 7, count: 4096))
        try Self.expectRefused(png, name: "small.png", width: 64, height: 64, limit: 4095)
    }

    /// A 4096×4096 industrial frame is well within the default limit.
    @Test func fourKSquareImagesStillDecode() throws {
        let side = 4096
        // Scanlines filled through a pointer: building 16 million samples one by one
        // takes seconds in a debug build.
        var scanlines = [UInt8](repeating: 0, count: side * (side + 1))
        scanlines.withUnsafeMutableBufferPointer { raw in
            for y in 0..<side {
                for x in 0..<side { raw[y * (side + 1) + 1 + x] = UInt8(truncatingIfNeeded: x + y) }
            }
        }
        let png = pngFile(width: side, height: side, colorType: .grey, bitDepth: 8, scanlines: scanlines)
        let image = try decode(png, channels: 1)
        #expect(image.width == side && image.height == side)
        #expect(image.pixels[side * 3 + 5] == 8)
    }
}

/// Files written by Pillow (`scripts/make-decoder-fixtures.py`) decode to exactly what
/// Pillow's `convert("RGB")` and `convert("L")` give: a plain CMYK JPEG (Adobe transform
/// 0, where TurboJPEG writes YCCK) and an RGBA PNG whose alpha is dropped, not composited.
@Suite("Decoding like Pillow")
struct PillowDecodingTests {
    struct Expected: Decodable {
        struct File: Decodable { let width: Int, height: Int, rgb: [UInt8], grey: [UInt8] }
        let files: [String: File]
    }

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/decoder")

    @Test(arguments: ["pillow-cmyk.jpg", "pillow-rgba.png"])
    func decodesAsPillowConverts(name: String) throws {
        let expected = try JSONDecoder().decode(Expected.self, from: Data(contentsOf: Self.directory.appendingPathComponent("pillow.json")))
        let file = try #require(expected.files[name])
        let path = Self.directory.appendingPathComponent(name).path
        let rgb = try ImageDecoder.decode(path: path, channels: 3), grey = try ImageDecoder.decode(path: path, channels: 1)
        #expect(rgb.width == file.width && rgb.height == file.height)
        #expect(rgb.pixels == file.rgb)
        #expect(grey.pixels == file.grey)
    }
}
