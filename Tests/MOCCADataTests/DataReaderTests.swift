import Foundation
import MOCCAData
import MOCCACore
import MOCCATestSupport
import Testing

/// Asserts that `error` is ``DataError/malformed(path:message:)`` for `path`, with the path
/// in its description.
func expectMalformed(_ error: DataError?, path: String, sourceLocation: SourceLocation = #_sourceLocation) {
    guard case .malformed(let reported, _)? = error else {
        Issue.record("expected DataError.malformed for \(path), got \(String(describing: error))", sourceLocation: sourceLocation)
        return
    }
    #expect(reported == path, sourceLocation: sourceLocation)
    #expect(error?.description.contains(path) == true, "\(String(describing: error))", sourceLocation: sourceLocation)
}

// MARK: - IDX

@Suite("IDX reader")
struct IDXReaderTests {
    static let pixels: [UInt8] = [0, 1, 2, 3, 10, 20, 30, 40, 255, 254, 253, 252]
    static let labels: [UInt8] = [2, 0, 1]

    /// Writes a 3-image 2×2 IDX pair (gzipped with stored blocks when asked).
    static func writePair(in directory: URL, gzip: Bool = false) throws -> (images: String, labels: String) {
        let images = makeIDX(dimensions: [3, 2, 2], values: pixels)
        let labels = makeIDX(dimensions: [3], values: Self.labels)
        let suffix = gzip ? ".gz" : ""
        let imagesURL = directory.appendingPathComponent("train-images-idx3-ubyte" + suffix)
        let labelsURL = directory.appendingPathComponent("train-labels-idx1-ubyte" + suffix)
        try writeBytes(gzip ? gzipStored(images) : images, to: imagesURL)
        try writeBytes(gzip ? gzipStored(labels) : labels, to: labelsURL)
        return (imagesURL.path, labelsURL.path)
    }

    static func checkContents(_ dataset: ImageDataset) {
        #expect(dataset.count == 3)
        #expect(dataset.imageShape == [1, 2, 2])
        #expect(dataset.pixels == pixels)
        #expect(dataset.labels == [2, 0, 1])
        #expect(dataset.sources.first?.hasSuffix("#0") == true)
    }

    static let gzipPath = ["/usr/bin/gzip", "/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Compresses `url` in place with the system's gzip (real DEFLATE), giving `url.gz`.
    static func systemGzip(_ url: URL) throws -> URL {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: gzipPath!)
        process.arguments = ["-n", "-f", url.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return URL(fileURLWithPath: url.path + ".gz")
    }

    @Test func readsUncompressedImagesAndLabels() throws {
        let directory = try makeTemporaryDirectory("idx")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        let dataset = try IDXReader.load(images: images, labels: labels)
        Self.checkContents(dataset)
        // Without names, classes run 0…max label.
        #expect(dataset.classNames == ["0", "1", "2"])
        let named = try IDXReader.load(images: images, labels: labels, classNames: (0...9).map { "c\($0)" })
        #expect(named.classNames.count == 10)
        #expect(named.labels == [2, 0, 1])
    }

    @Test func readsGzippedFilesByTheirMagicNumber() throws {
        let directory = try makeTemporaryDirectory("idx-gz")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory, gzip: true)
        Self.checkContents(try IDXReader.load(images: images, labels: labels))
    }

    @Test(.enabled(if: IDXReaderTests.gzipPath != nil, "needs gzip"))
    func readsFilesCompressedByTheSystemsGzip() throws {
        let directory = try makeTemporaryDirectory("idx-sysgz")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        let gzImages = try Self.systemGzip(URL(fileURLWithPath: images))
        let gzLabels = try Self.systemGzip(URL(fileURLWithPath: labels))
        Self.checkContents(try IDXReader.load(images: gzImages.path, labels: gzLabels.path))
    }

    @Test(.enabled(if: IDXReaderTests.gzipPath != nil, "needs gzip"))
    func truncatedGzipStreamIsMalformedNamingTheFile() throws {
        let directory = try makeTemporaryDirectory("idx-gz-trunc")
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = RandomGenerator(seed: 5)
        let values = (0..<(40 * 28 * 28)).map { _ in UInt8(generator.next() & 0x0F) }
        let url = directory.appendingPathComponent("images")
        try writeBytes(makeIDX(dimensions: [40, 28, 28], values: values), to: url)
        let labelsURL = directory.appendingPathComponent("labels")
        try writeBytes(makeIDX(dimensions: [40], values: Array(repeating: 1, count: 40)), to: labelsURL)
        let gz = try Self.systemGzip(url)
        let data = try Data(contentsOf: gz)
        try data.prefix(data.count / 2).write(to: gz)
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: gz.path, labels: labelsURL.path) }
        expectMalformed(error, path: gz.path)
    }

    @Test func truncatedStoredGzipIsMalformedNamingTheFile() throws {
        let directory = try makeTemporaryDirectory("idx-gz-trunc2")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (_, labels) = try Self.writePair(in: directory)
        let url = directory.appendingPathComponent("images.gz")
        let gz = gzipStored(makeIDX(dimensions: [3, 2, 2], values: Self.pixels))
        try writeBytes(Array(gz.prefix(gz.count - 12)), to: url)
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: url.path, labels: labels) }
        expectMalformed(error, path: url.path)
    }

    @Test func badMagicNumberIsMalformedNamingTheFile() throws {
        let directory = try makeTemporaryDirectory("idx-magic")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: images)))
        bytes[0] = 0x12
        try writeBytes(bytes, to: URL(fileURLWithPath: images))
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: images, labels: labels) }
        expectMalformed(error, path: images)
    }

    @Test func elementTypeOtherThanUnsignedByteIsMalformed() throws {
        let directory = try makeTemporaryDirectory("idx-type")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: labels)))
        bytes[2] = 0x0D  // float
        try writeBytes(bytes, to: URL(fileURLWithPath: labels))
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: images, labels: labels) }
        expectMalformed(error, path: labels)
    }

    @Test(arguments: [1, 5, 16])
    func truncatedDataIsMalformedNamingTheFile(dropped: Int) throws {
        let directory = try makeTemporaryDirectory("idx-trunc")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: images)))
        try writeBytes(Array(bytes.dropLast(dropped)), to: URL(fileURLWithPath: images))
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: images, labels: labels) }
        expectMalformed(error, path: images)
    }

    @Test func trailingBytesAreMalformed() throws {
        let directory = try makeTemporaryDirectory("idx-extra")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        try writeBytes(makeIDX(dimensions: [3], values: Self.labels) + [7], to: URL(fileURLWithPath: labels))
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: images, labels: labels) }
        expectMalformed(error, path: labels)
    }

    @Test func labelCountMismatchIsMalformedNamingTheLabelFile() throws {
        let directory = try makeTemporaryDirectory("idx-count")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        try writeBytes(makeIDX(dimensions: [2], values: [0, 1]), to: URL(fileURLWithPath: labels))
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: images, labels: labels) }
        expectMalformed(error, path: labels)
    }

    @Test func wrongRanksAreMalformed() throws {
        let directory = try makeTemporaryDirectory("idx-rank")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        // Labels given as images: rank 3 where rank 1 is expected, and vice versa.
        let swapped = #expect(throws: DataError.self) { try IDXReader.load(images: labels, labels: images) }
        expectMalformed(swapped, path: labels)
    }

    @Test func labelOutsideTheNamedClassesIsMalformed() throws {
        let directory = try makeTemporaryDirectory("idx-label")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, labels) = try Self.writePair(in: directory)
        try writeBytes(makeIDX(dimensions: [3], values: [0, 12, 1]), to: URL(fileURLWithPath: labels))
        let error = #expect(throws: DataError.self) {
            try IDXReader.load(images: images, labels: labels, classNames: (0...9).map(String.init))
        }
        expectMalformed(error, path: labels)
    }

    @Test func missingFileIsMissing() throws {
        let directory = try makeTemporaryDirectory("idx-missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (images, _) = try Self.writePair(in: directory)
        let absent = directory.appendingPathComponent("nope").path
        let error = #expect(throws: DataError.self) { try IDXReader.load(images: images, labels: absent) }
        guard case .missing(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == absent)
    }

    /// The MNIST layout through the one-class split: gzipped files are found, class 1 is normal.
    @Test func mnistSplitReadsGzippedFilesAndLabelsTheNormalClass() throws {
        let directory = try makeTemporaryDirectory("idx-split")
        defer { try? FileManager.default.removeItem(at: directory) }
        let train = makeIDX(dimensions: [3, 2, 2], values: Self.pixels)
        try writeBytes(gzipStored(train), to: directory.appendingPathComponent("train-images-idx3-ubyte.gz"))
        try writeBytes(gzipStored(makeIDX(dimensions: [3], values: [1, 0, 1])), to: directory.appendingPathComponent("train-labels-idx1-ubyte.gz"))
        try writeBytes(makeIDX(dimensions: [2, 2, 2], values: Array(Self.pixels.prefix(8))), to: directory.appendingPathComponent("t10k-images-idx3-ubyte"))
        try writeBytes(makeIDX(dimensions: [2], values: [1, 7]), to: directory.appendingPathComponent("t10k-labels-idx1-ubyte"))
        let split = try OneClassSplit.load(.mnist, path: directory.path, normalClass: "1")
        #expect(split.train.count == 2)
        #expect(split.train.labels == [1, 1])
        #expect(split.train.pixels == Array(Self.pixels[0..<4]) + Array(Self.pixels[8..<12]))
        #expect(split.testLabels == [0, 1])
        #expect(split.normalClassName == "1")
    }
}
