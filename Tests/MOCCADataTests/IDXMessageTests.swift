import MOCCATestSupport
import Foundation
import MOCCAData
import Testing

/// Every malformed IDX file is reported naming the file, what was found and what was
/// expected: a rank-4 image file used to read its first pixels as a fourth dimension
/// and report "expected 0 values".
@Suite("IDX error messages")
struct IDXMessageTests {
    static let pixels: [UInt8] = [0, 1, 2, 3, 10, 20, 30, 40, 255, 254, 253, 252]

    /// Writes `images` and a valid 3-label file; loads them, expecting a malformed-file
    /// error for `images` whose message contains every one of `phrases`.
    static func expectMessage(images: [UInt8], labels: [UInt8] = makeIDX(dimensions: [3], values: [2, 0, 1]),
                              blame: String = "images", _ phrases: [String], absent: [String] = [],
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let directory = try makeTemporaryDirectory("idx-message")
        defer { try? FileManager.default.removeItem(at: directory) }
        let imagesURL = directory.appendingPathComponent("images"), labelsURL = directory.appendingPathComponent("labels")
        try writeBytes(images, to: imagesURL)
        try writeBytes(labels, to: labelsURL)
        let error = #expect(throws: DataError.self, sourceLocation: sourceLocation) {
            try IDXReader.load(images: imagesURL.path, labels: labelsURL.path)
        }
        let blamed = blame == "images" ? imagesURL.path : labelsURL.path
        guard case .malformed(let path, let message)? = error else {
            Issue.record("expected DataError.malformed, got \(String(describing: error))", sourceLocation: sourceLocation)
            return
        }
        #expect(path == blamed, sourceLocation: sourceLocation)
        for phrase in phrases { #expect(message.contains(phrase), "'\(message)' lacks '\(phrase)'", sourceLocation: sourceLocation) }
        for phrase in absent { #expect(!message.contains(phrase), "'\(message)' has '\(phrase)'", sourceLocation: sourceLocation) }
    }

    static var valid: [UInt8] { makeIDX(dimensions: [3, 2, 2], values: pixels) }

    @Test func rankFourImageFileSaysWhichRankItExpected() throws {
        var images = Self.valid
        images[3] = 4
        try Self.expectMessage(images: images, ["expected an IDX image file of rank 3 [N, H, W]", "found rank 4"], absent: ["expected 0 values"])
    }

    @Test func rankZeroAndRankOneImageFilesSayWhatTheyFound() throws {
        try Self.expectMessage(images: [0, 0, 8, 0], ["rank 3", "found rank 0"])
        try Self.expectMessage(images: makeIDX(dimensions: [12], values: Self.pixels), ["rank 3", "found rank 1"])
    }

    @Test func labelFileOfTheWrongRankSaysSo() throws {
        try Self.expectMessage(images: Self.valid, labels: makeIDX(dimensions: [3, 1], values: [2, 0, 1]), blame: "labels",
                               ["expected an IDX label file of rank 1", "found rank 2"])
    }

    @Test func zeroDimensionSaysWhichDimension() throws {
        try Self.expectMessage(images: makeIDX(dimensions: [3, 0, 2], values: []), ["at least 1", "dimension 1 of [3, 0, 2]", "0"])
    }

    @Test func truncatedDataSaysHowManyValuesWereExpectedAndFound() throws {
        try Self.expectMessage(images: Array(Self.valid.dropLast(5)), ["expected 12 values", "[3, 2, 2]", "found 7", "truncated"])
    }

    @Test func extraBytesSayHowMany() throws {
        try Self.expectMessage(images: Self.valid + [9, 9], ["expected 12 values", "found 14", "2 bytes too many"])
    }

    @Test func truncatedHeaderSaysHowLongAHeaderIs() throws {
        try Self.expectMessage(images: Array(Self.valid.prefix(10)), ["truncated IDX header", "16 bytes", "found 10"])
        try Self.expectMessage(images: [0, 0], ["found only 2 bytes", "at least 4"])
    }

    @Test func badMagicAndElementTypeSayWhatWasFound() throws {
        var magic = Self.valid
        magic[0] = 0x1F
        try Self.expectMessage(images: magic, ["expected the magic bytes 00 00", "found 1F 00"])
        var type = Self.valid
        type[2] = 0x0D
        try Self.expectMessage(images: type, ["expected IDX element type 08", "found 0D"])
    }

    @Test func absurdDimensionsAreReportedNotMultipliedIntoAnOverflow() throws {
        let images = [0, 0, 8, 3] + [UInt8](repeating: 0xFF, count: 12) + Self.pixels
        try Self.expectMessage(images: images, ["[4294967295, 4294967295, 4294967295]", "found 12"])
    }

    @Test func labelCountMismatchSaysBothCounts() throws {
        try Self.expectMessage(images: Self.valid, labels: makeIDX(dimensions: [2], values: [0, 1]), blame: "labels",
                               ["expected 3 labels", "found 2"])
    }
}
