import Foundation
import MOCCA
import MOCCAData
import Testing

/// Inputs on which a fuzz target of `Fuzz/` (run by `scripts/fuzz.sh`) found a crash, a
/// timeout or an out-of-memory, kept in `Tests/Fixtures/fuzz/` and fed to the reader
/// that failed. The fuzz targets run with AddressSanitizer in a release build; these tests
/// run in the ordinary suite, where a memory error may pass unseen, so each also checks
/// what the reader must return.
@Suite("Fuzzing regressions")
struct FuzzRegressionTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/fuzz")

    static func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// fuzz-png, heap use after free: libpng's simplified API keeps the pointer that
    /// `png_image_begin_read_from_memory` is given and reads through it again in
    /// `png_image_finish_read`. The decoder passed an array to each call, a pointer valid
    /// during that call only; for a file with a `gAMA` chunk the array was the copy
    /// without that chunk, which a release build freed between the two calls.
    @Test func pngWithAGammaChunkIsReadFromMemoryThatStaysValid() throws {
        let bytes = try Self.fixture("png-gama-use-after-free.png")
        // The same file without its gAMA chunk (length, type, 4 bytes of data, CRC).
        let start = try #require((8..<bytes.count - 4).first { Array(bytes[$0..<($0 + 4)]) == Array("gAMA".utf8) }) - 4
        let withoutGamma = Array(bytes[..<start] + bytes[(start + 16)...])
        for channels in [1, 3] {
            let expected = try ImageDecoder.decode(bytes: withoutGamma, path: "without-gamma.png", channels: channels)
            #expect(expected.width == 2 && expected.height == 2)
            // Repeated, so that memory freed and reused in between would show.
            for _ in 0..<20 {
                #expect(try ImageDecoder.decode(bytes: bytes, path: "png-gama-use-after-free.png", channels: channels) == expected)
            }
        }
    }

    /// fuzz-tiff, timeout: a 182-byte TIFF declaring 33,554,435×2 pixels (within the pixel
    /// limit) in compression scheme 1537 was given a 268 MB raster and read strip by strip,
    /// the undecodable ones left blank, for over 10 s under AddressSanitizer. A scheme
    /// libtiff lacks is now refused before anything is allocated, and so are uncompressed
    /// pixels that cannot be in the file (the same input with its scheme set to none).
    @Test func tiffDeclaringMorePixelsThanItHoldsIsRefusedAtOnce() throws {
        let bytes = try Self.fixture("tiff-width-33554435x2.tif")
        // The compression entry (tag 259, a short): its value set to 1, no compression.
        let entry = try #require(stride(from: 0x3A, to: bytes.count - 12, by: 12).first { bytes[$0] == 0x03 && bytes[$0 + 1] == 0x01 })
        var uncompressed = bytes
        uncompressed[entry + 8] = 1
        uncompressed[entry + 9] = 0
        let start = Date()
        for channels in [1, 3] {
            #expect { try ImageDecoder.decode(bytes: bytes, path: "t.tif", channels: channels) } throws: { error in
                guard case let DataError.unsupported(_, message)? = error as? DataError else { return false }
                return message.contains("compression scheme 1537")
            }
            #expect { try ImageDecoder.decode(bytes: uncompressed, path: "t.tif", channels: channels) } throws: { error in
                guard case let DataError.malformed(_, message)? = error as? DataError else { return false }
                return message.contains("33554435x2") && message.contains("the file has 182")
            }
        }
        #expect(Date().timeIntervalSince(start) < 0.5)
    }

    /// fuzz-png, out of memory: an 89-byte PNG whose `tEXt` chunk declares 285,212,689
    /// bytes made libpng allocate that much before finding the data missing, and the
    /// fuzzer's memory grew past 2 GB. The chunk lengths are now checked against the file
    /// first, and the file is refused as malformed, naming the chunk.
    @Test func pngChunkLongerThanTheFileIsRefusedBeforeLibpngAllocatesIt() throws {
        let bytes = try Self.fixture("png-text-chunk-285mb.png")
        #expect(bytes.count == 89)
        for channels in [1, 3] {
            let error = #expect(throws: DataError.self) {
                try ImageDecoder.decode(bytes: bytes, path: "png-text-chunk-285mb.png", channels: channels)
            }
            guard case .malformed(let path, let message)? = error else {
                Issue.record("expected DataError.malformed, got \(String(describing: error))")
                continue
            }
            #expect(path == "png-text-chunk-285mb.png")
            #expect(message.contains("'tEXt'") && message.contains("285212689 bytes"), "\(message)")
        }
        // The same chunk with its true length still decodes.
        var fixed = bytes
        fixed.replaceSubrange(33..<37, with: [0, 0, 0, 0x11])
        #expect(try ImageDecoder.decode(bytes: fixed, path: "fixed.png", channels: 3).width == 1)
    }
}
