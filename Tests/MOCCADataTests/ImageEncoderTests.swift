import Foundation
import MOCCAData
import MOCCATestSupport
import Testing

@Suite("PNG encoder")
struct ImageEncoderTests {
    /// An image whose every pixel differs from its neighbours, so that a swapped plane or
    /// a transposed row shows up.
    static func pattern(width: Int, height: Int, channels: Int) -> ImageDecoder.Image {
        let pixels = (0..<(channels * width * height)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) }
        return ImageDecoder.Image(width: width, height: height, channels: channels, pixels: pixels)
    }

    @Test(arguments: [1, 3])
    func roundTripsThroughTheDecoder(channels: Int) throws {
        let image = Self.pattern(width: 7, height: 5, channels: channels)
        let bytes = try ImageEncoder.encodePNG(image)
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(try ImageDecoder.decode(bytes: bytes, path: "memory", channels: channels) == image)
    }

    @Test func greyDecodesToRepeatedPlanesAndRGBToItsLuma() throws {
        let grey = Self.pattern(width: 4, height: 3, channels: 1)
        let rgb = try ImageDecoder.decode(bytes: try ImageEncoder.encodePNG(grey), path: "memory", channels: 3)
        #expect(rgb.pixels == grey.pixels + grey.pixels + grey.pixels)
    }

    @Test func writesAFileAtomicallyThatDecodesBack() throws {
        let folder = try makeTemporaryDirectory("encoder")
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("out.png")
        let image = Self.pattern(width: 9, height: 4, channels: 3)
        try ImageEncoder.writePNG(image, to: url)
        try ImageEncoder.writePNG(image, to: url)
        #expect(try ImageDecoder.decode(path: url.path, channels: 3) == image)
        // Nothing but the file itself is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["out.png"])
    }

    @Test func refusesImagesWhoseBytesDoNotMatchTheirSize() {
        let short = ImageDecoder.Image(width: 4, height: 4, channels: 3, pixels: [UInt8](repeating: 0, count: 47))
        #expect(throws: DataError.self) { try ImageEncoder.encodePNG(short, path: "short") }
        let twoChannels = ImageDecoder.Image(width: 2, height: 2, channels: 2, pixels: [UInt8](repeating: 0, count: 8))
        #expect(throws: DataError.self) { try ImageEncoder.encodePNG(twoChannels) }
        let empty = ImageDecoder.Image(width: 0, height: 3, channels: 1, pixels: [])
        #expect(throws: DataError.self) { try ImageEncoder.encodePNG(empty) }
    }

    @Test func aMissingFolderIsAnErrorNamingThePath() throws {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString)/x.png")
        #expect {
            try ImageEncoder.writePNG(Self.pattern(width: 2, height: 2, channels: 1), to: url)
        } throws: { error in
            guard case let .malformed(path, message)? = error as? DataError else { return false }
            return path == url.path && message.contains("cannot be written")
        }
    }
}
