import Foundation
import MOCCAData
import MOCCACore
import MOCCATestSupport
import Testing

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
