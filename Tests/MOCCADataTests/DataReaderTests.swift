import Foundation
import MOCCAData
import MOCCACore
import MOCCATestSupport
import Testing

/// Asserts that `error` is ``DataError/malformed(path:message:)`` for `path`, with the path
/// in its description.
private func expectMalformed(_ error: DataError?, path: String, sourceLocation: SourceLocation = #_sourceLocation) {
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

// MARK: - CIFAR-10 binary batches

@Suite("CIFAR-10 reader")
struct CIFAR10ReaderTests {
    static let recordSize = 3073

    /// One record: its label, then 3,072 pixel bytes derived from `seed`.
    static func record(label: UInt8, seed: Int) -> [UInt8] {
        [label] + (0..<3072).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ seed &* 31) }
    }

    static func pixels(seed: Int) -> [UInt8] { Array(record(label: 0, seed: seed).dropFirst()) }

    /// data_batch_k holds labels k−1 and k+4 (seeds 10k and 10k+1); test_batch labels 9, 0, 3.
    static func writeBatches(in directory: URL) throws {
        for k in 1...5 {
            try writeBytes(record(label: UInt8(k - 1), seed: 10 * k) + record(label: UInt8(k + 4), seed: 10 * k + 1),
                           to: directory.appendingPathComponent("data_batch_\(k).bin"))
        }
        try writeBytes(record(label: 9, seed: 100) + record(label: 0, seed: 101) + record(label: 3, seed: 102),
                       to: directory.appendingPathComponent("test_batch.bin"))
    }

    @Test func readsLabelsAndPixelsOfEveryTrainingBatchInOrder() throws {
        let directory = try makeTemporaryDirectory("cifar")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let train = try CIFAR10.loadBinary(directory: directory.path, split: .train)
        #expect(train.count == 10)
        #expect(train.imageShape == [3, 32, 32])
        #expect(train.labels == [0, 5, 1, 6, 2, 7, 3, 8, 4, 9])
        #expect(train.classNames == CIFAR10.classNames)
        let expected = (1...5).flatMap { Self.pixels(seed: 10 * $0) + Self.pixels(seed: 10 * $0 + 1) }
        #expect(train.pixels == expected)
        #expect(train.sources.first == "data_batch_1.bin#0")
        #expect(train.sources.last == "data_batch_5.bin#1")

        let test = try CIFAR10.loadBinary(directory: directory.path, split: .test)
        #expect(test.labels == [9, 0, 3])
        #expect(test.pixels == Self.pixels(seed: 100) + Self.pixels(seed: 101) + Self.pixels(seed: 102))
    }

    @Test func keepFilterSelectsLabelsWhileReading() throws {
        let directory = try makeTemporaryDirectory("cifar-keep")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let train = try CIFAR10.loadBinary(directory: directory.path, split: .train, keep: { $0 >= 5 })
        #expect(train.labels == [5, 6, 7, 8, 9])
        #expect(train.pixels == (1...5).flatMap { Self.pixels(seed: 10 * $0 + 1) })
        #expect(train.sources == (1...5).map { "data_batch_\($0).bin#1" })
        let none = try CIFAR10.loadBinary(directory: directory.path, split: .test, keep: { _ in false })
        #expect(none.count == 0)
        #expect(none.pixels.isEmpty)
    }

    @Test(arguments: [100, -1, -3072])
    func fileThatIsNotAWholeNumberOfRecordsIsMalformed(extra: Int) throws {
        let directory = try makeTemporaryDirectory("cifar-trunc")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("test_batch.bin")
        let bytes = [UInt8](try Data(contentsOf: url))
        try writeBytes(extra > 0 ? bytes + Array(repeating: 0, count: extra) : Array(bytes.dropLast(-extra)), to: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .test) }
        expectMalformed(error, path: url.path)
    }

    @Test func emptyBatchIsMalformed() throws {
        let directory = try makeTemporaryDirectory("cifar-empty")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("data_batch_2.bin")
        try writeBytes([], to: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .train) }
        expectMalformed(error, path: url.path)
    }

    @Test func labelOutsideZeroToNineIsMalformed() throws {
        let directory = try makeTemporaryDirectory("cifar-label")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("data_batch_3.bin")
        try writeBytes(Self.record(label: 2, seed: 1) + Self.record(label: 12, seed: 2), to: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .train) }
        expectMalformed(error, path: url.path)
        // A label filter does not hide the bad label.
        let filtered = #expect(throws: DataError.self) {
            try CIFAR10.loadBinary(directory: directory.path, split: .train, keep: { $0 == 0 })
        }
        expectMalformed(filtered, path: url.path)
    }

    @Test func missingFolderIsMissing() {
        let absent = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-absent-\(UUID().uuidString)").path
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: absent, split: .train) }
        guard case .missing(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == absent)
    }

    @Test func missingBatchFileIsMissingNamingIt() throws {
        let directory = try makeTemporaryDirectory("cifar-missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.writeBatches(in: directory)
        let url = directory.appendingPathComponent("data_batch_4.bin")
        try FileManager.default.removeItem(at: url)
        let error = #expect(throws: DataError.self) { try CIFAR10.loadBinary(directory: directory.path, split: .train) }
        guard case .missing(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == url.path)
    }

    @Test func oneClassSplitFindsTheBatchesFolderAndLabelsTheNormalClass() throws {
        let root = try makeTemporaryDirectory("cifar-split")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writeBatches(in: root.appendingPathComponent("cifar-10-batches-bin"))
        let split = try OneClassSplit.load(.cifar10, path: root.path, normalClass: "automobile")
        #expect(split.normalClass == 1)
        #expect(split.train.labels == [1])
        #expect(split.train.pixels == Self.pixels(seed: 20))
        #expect(split.testLabels == [1, 1, 1])
        let byIndex = try OneClassSplit.load(.cifar10, path: root.path, normalClass: "9")
        #expect(byIndex.testLabels == [0, 1, 1])
        let unknown = #expect(throws: DataError.self) { try OneClassSplit.load(.cifar10, path: root.path, normalClass: "unicorn") }
        guard case .unknownClass? = unknown else { Issue.record("got \(String(describing: unknown))"); return }
    }
}

// MARK: - Image folders and the PNG decoder

@Suite("Image folder reader")
struct ImageFolderTests {
    /// Interleaved RGB pixels of a `width × height` image, distinct per seed.
    static func rgb(width: Int, height: Int, seed: Int) -> [UInt8] {
        (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ seed &* 11 &+ 5) }
    }

    /// Interleaved HWC to planar CHW.
    static func planar(_ pixels: [UInt8], channels: Int) -> [UInt8] {
        let plane = pixels.count / channels
        return (0..<channels).flatMap { c in (0..<plane).map { pixels[$0 * channels + c] } }
    }

    static func writePNG(_ url: URL, width: Int, height: Int, channels: Int, pixels: [UInt8]) throws {
        try writeBytes(makePNG(width: width, height: height, channels: channels, pixels: pixels), to: url)
    }

    @Test func rgbPNGDecodesToTheExactPlanarPixels() throws {
        let directory = try makeTemporaryDirectory("png-rgb")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("a.png")
        let pixels = Self.rgb(width: 5, height: 3, seed: 1)
        try Self.writePNG(url, width: 5, height: 3, channels: 3, pixels: pixels)
        let image = try ImageDecoder.decode(path: url.path, channels: 3)
        #expect(image.width == 5)
        #expect(image.height == 3)
        #expect(image.channels == 3)
        #expect(image.pixels == Self.planar(pixels, channels: 3))
    }

    @Test func greyPNGDecodesToTheExactPixels() throws {
        let directory = try makeTemporaryDirectory("png-grey")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("g.png")
        let pixels: [UInt8] = (0..<(4 * 6)).map { UInt8($0 * 10 + 3) }
        try Self.writePNG(url, width: 4, height: 6, channels: 1, pixels: pixels)
        let image = try ImageDecoder.decode(path: url.path, channels: 1)
        #expect(image.width == 4)
        #expect(image.height == 6)
        #expect(image.pixels == pixels)
        // Grey read as RGB repeats the grey value in every plane.
        let asRGB = try ImageDecoder.decode(path: url.path, channels: 3)
        #expect(asRGB.pixels == pixels + pixels + pixels)
    }

    @Test func randomBytesWithAPNGExtensionAreMalformedNamingTheFile() throws {
        let directory = try makeTemporaryDirectory("png-corrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = RandomGenerator(seed: 3)
        var bytes = (0..<200).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        bytes[0] = 0x42
        let url = directory.appendingPathComponent("train/cat/bad.png")
        try writeBytes(bytes, to: url)
        let direct = #expect(throws: DataError.self) { try ImageDecoder.decode(path: url.path, channels: 3) }
        expectMalformed(direct, path: url.path)
        let viaFolder = #expect(throws: DataError.self) { try ImageFolder.load(root: directory.path, split: "train", channels: 3) }
        expectMalformed(viaFolder, path: url.path)
    }

    @Test func pngSignatureFollowedByGarbageIsMalformed() throws {
        let directory = try makeTemporaryDirectory("png-garbage")
        defer { try? FileManager.default.removeItem(at: directory) }
        var generator = RandomGenerator(seed: 4)
        let bytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + (0..<100).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let url = directory.appendingPathComponent("x.png")
        try writeBytes(bytes, to: url)
        let error = #expect(throws: DataError.self) { try ImageDecoder.decode(path: url.path, channels: 3) }
        expectMalformed(error, path: url.path)
    }

    @Test(arguments: [20, 60, 0.5])
    func truncatedPNGIsMalformedNamingTheFile(keep: Double) throws {
        let directory = try makeTemporaryDirectory("png-trunc")
        defer { try? FileManager.default.removeItem(at: directory) }
        let png = makePNG(width: 16, height: 16, channels: 3, pixels: Self.rgb(width: 16, height: 16, seed: 2))
        // keep > 1: that many bytes; otherwise that fraction of the file.
        let count = keep > 1 ? Int(keep) : Int(Double(png.count) * keep)
        let url = directory.appendingPathComponent("train/dog/t.png")
        try writeBytes(Array(png.prefix(count)), to: url)
        let error = #expect(throws: DataError.self) { try ImageFolder.load(root: directory.path, split: "train", channels: 3) }
        expectMalformed(error, path: url.path)
    }

    @Test func folderClassesAreSortedSubfoldersAndImagesAreReadInOrder() throws {
        let root = try makeTemporaryDirectory("folder")
        defer { try? FileManager.default.removeItem(at: root) }
        let train = root.appendingPathComponent("train")
        let a = Self.rgb(width: 3, height: 2, seed: 1), b = Self.rgb(width: 3, height: 2, seed: 2), c = Self.rgb(width: 3, height: 2, seed: 3)
        // Written out of order, and beside a file that is not an image and a hidden folder.
        try Self.writePNG(train.appendingPathComponent("dog/c.png"), width: 3, height: 2, channels: 3, pixels: c)
        try Self.writePNG(train.appendingPathComponent("cat/b.PNG"), width: 3, height: 2, channels: 3, pixels: b)
        try Self.writePNG(train.appendingPathComponent("cat/a.png"), width: 3, height: 2, channels: 3, pixels: a)
        try writeBytes(Array("not an image".utf8), to: train.appendingPathComponent("cat/notes.txt"))
        try FileManager.default.createDirectory(at: train.appendingPathComponent(".cache"), withIntermediateDirectories: true)

        let dataset = try ImageFolder.load(root: root.path, split: "train", channels: 3)
        #expect(dataset.classNames == ["cat", "dog"])
        #expect(dataset.labels == [0, 0, 1])
        #expect(dataset.imageShape == [3, 2, 3])
        #expect(dataset.pixels == Self.planar(a, channels: 3) + Self.planar(b, channels: 3) + Self.planar(c, channels: 3))
        #expect(dataset.sources.map { ($0 as NSString).lastPathComponent } == ["a.png", "b.PNG", "c.png"])

        let dogs = try ImageFolder.load(root: root.path, split: "train", channels: 3, keep: { $0 == 1 })
        #expect(dogs.labels == [1])
        #expect(dogs.pixels == Self.planar(c, channels: 3))
    }

    @Test func greyFolderLoadsOneChannel() throws {
        let root = try makeTemporaryDirectory("folder-grey")
        defer { try? FileManager.default.removeItem(at: root) }
        let p: [UInt8] = [0, 50, 100, 150, 200, 250]
        try Self.writePNG(root.appendingPathComponent("train/only/x.png"), width: 2, height: 3, channels: 1, pixels: p)
        let dataset = try ImageFolder.load(root: root.path, split: "train", channels: 1)
        #expect(dataset.imageShape == [1, 3, 2])
        #expect(dataset.pixels == p)
    }

    @Test func missingSplitFolderIsAWrongLayout() throws {
        let root = try makeTemporaryDirectory("folder-layout")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writePNG(root.appendingPathComponent("cat/a.png"), width: 2, height: 2, channels: 1, pixels: [1, 2, 3, 4])
        let error = #expect(throws: DataError.self) { try ImageFolder.load(root: root.path, split: "train", channels: 1) }
        guard case .wrongLayout(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == root.path)
        // A split folder with no class folders is a wrong layout too.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("train"), withIntermediateDirectories: true)
        let empty = #expect(throws: DataError.self) { try ImageFolder.load(root: root.path, split: "train", channels: 1) }
        guard case .wrongLayout? = empty else { Issue.record("got \(String(describing: empty))"); return }
    }

    @Test func imagesOfDifferentSizesAreMalformedNamingTheOddOne() throws {
        let root = try makeTemporaryDirectory("folder-size")
        defer { try? FileManager.default.removeItem(at: root) }
        try Self.writePNG(root.appendingPathComponent("train/cat/a.png"), width: 3, height: 2, channels: 3, pixels: Self.rgb(width: 3, height: 2, seed: 1))
        let odd = root.appendingPathComponent("train/dog/b.png")
        try Self.writePNG(odd, width: 2, height: 3, channels: 3, pixels: Self.rgb(width: 2, height: 3, seed: 2))
        let error = #expect(throws: DataError.self) { try ImageFolder.load(root: root.path, split: "train", channels: 3) }
        expectMalformed(error, path: odd.path)
    }

    @Test func imageFolderSplitKeepsTheNormalClassForTraining() throws {
        let root = try makeTemporaryDirectory("folder-split")
        defer { try? FileManager.default.removeItem(at: root) }
        for (split, cls, seed) in [("train", "cat", 1), ("train", "dog", 2), ("test", "cat", 3), ("test", "dog", 4)] {
            try Self.writePNG(root.appendingPathComponent("\(split)/\(cls)/\(seed).png"), width: 2, height: 2, channels: 3,
                              pixels: Self.rgb(width: 2, height: 2, seed: seed))
        }
        let split = try OneClassSplit.load(.imageFolder, path: root.path, normalClass: "dog")
        #expect(split.train.labels == [1])
        #expect(split.train.pixels == Self.planar(Self.rgb(width: 2, height: 2, seed: 2), channels: 3))
        #expect(split.testLabels == [1, 0])
    }

    @Test func oneClassSplitDecodesOnlyTheNormalClassesTrainingImages() throws {
        let root = try makeTemporaryDirectory("folder-only-normal")
        defer { try? FileManager.default.removeItem(at: root) }
        for (split, cls, seed) in [("train", "dog", 2), ("test", "cat", 3), ("test", "dog", 4)] {
            try Self.writePNG(root.appendingPathComponent("\(split)/\(cls)/\(seed).png"), width: 2, height: 2, channels: 3,
                              pixels: Self.rgb(width: 2, height: 2, seed: seed))
        }
        // A corrupt training image of another class is never read when dog is normal...
        let corrupt = root.appendingPathComponent("train/cat/broken.png")
        try FileManager.default.createDirectory(at: corrupt.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data("not a png".utf8).write(to: corrupt)
        let split = try OneClassSplit.load(.imageFolder, path: root.path, normalClass: "dog")
        #expect(split.train.count == 1)
        #expect(split.train.classNames == ["cat", "dog"])
        #expect(split.testLabels == [1, 0])
        // ...and is reported, by name, when cat is.
        let error = #expect(throws: DataError.self) { try OneClassSplit.load(.imageFolder, path: root.path, normalClass: "cat") }
        guard case .malformed(let path, _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(path == corrupt.path)
    }
}
