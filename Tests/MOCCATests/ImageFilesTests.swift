import Foundation
import MOCCA
import MOCCACore
import Testing

/// Image files streamed a batch at a time give exactly what decoding the whole folder
/// into memory gives, resized where asked, and a detector trains on them identically.
@Suite("Streamed image files", .serialized)
struct ImageFilesTests {
    /// `ROOT/train/good` (normal blobs), `ROOT/train/other`, `ROOT/test/good` and
    /// `ROOT/test/bad` (stripes), as grey PNGs of `side × side`.
    static func makeFolder(side: Int, trainCount: Int = 24, seed: UInt64 = 3) throws -> URL {
        let root = try makeTemporaryDirectory("image-files")
        var generator = RandomGenerator(seed: seed)
        func blob() -> [UInt8] {
            let cx = Float(side) * (0.4 + 0.2 * generator.nextUniform()), cy = Float(side) * (0.4 + 0.2 * generator.nextUniform())
            let sigma = Float(side) * (0.1 + 0.05 * generator.nextUniform())
            return (0..<(side * side)).map { p in
                let (x, y) = (Float(p % side), Float(p / side))
                let r2 = (x - cx) * (x - cx) + (y - cy) * (y - cy)
                return UInt8(min(255, 220 * exp(-r2 / (2 * sigma * sigma)) + 20 * generator.nextUniform()))
            }
        }
        func stripes(_ i: Int) -> [UInt8] { (0..<(side * side)).map { p in ((p % side) / (side / 8 + i % 3)) % 2 == 0 ? 210 : 30 } }
        func write(_ pixels: [UInt8], _ path: String) throws {
            try writeBytes(makePNG(width: side, height: side, channels: 1, pixels: pixels), to: root.appendingPathComponent(path))
        }
        for i in 0..<trainCount { try write(blob(), "train/good/\(String(format: "%03d", i)).png") }
        try write(stripes(0), "train/other/000.png")
        for i in 0..<6 { try write(blob(), "test/good/\(i).png") }
        for i in 0..<6 { try write(stripes(i), "test/bad/\(i).png") }
        return root
    }

    @Test func aResizedGreyFolderGivesRGBSamplesOfTheAskedSizeEqualToTheInMemoryPath() throws {
        let root = try Self.makeFolder(side: 60)
        defer { try? FileManager.default.removeItem(at: root) }
        let resize = ImageResize(height: 16, width: 12, filter: .area)
        var split = try ImageFolderSplit.load(root: root.path, normalClass: "good", channels: 3, resize: resize, requireTest: true)
        #expect(split.train.sampleShape == [3, 16, 12] && split.train.count == 24)
        #expect(split.test?.labels == Array(repeating: 1, count: 6) + Array(repeating: 0, count: 6))
        let preprocessor = try split.fitPreprocessor()

        // The same images decoded into memory with the same resize.
        let loaded = try ImageFolder.load(root: root.path, split: "train", channels: 3, size: (16, 12), filter: .area) { $0 == 0 }
        #expect(try Preprocessor.fit(on: loaded) == preprocessor)
        let indices = [5, 0, 23, 7]
        #expect(try split.train.batch(indices).scalars == preprocessor.apply(loaded, indices: indices).scalars)
    }

    @Test func batchesLoadedAheadEqualBatchesLoadedInPlace() throws {
        let root = try Self.makeFolder(side: 20)
        defer { try? FileManager.default.removeItem(at: root) }
        let split = try ImageFolderSplit.load(root: root.path, normalClass: "good", channels: 1, resize: nil, requireTest: false)
        let batches = [[3, 1], [0, 2, 4], [23]]
        var seen = 0
        for (loaded, expected) in zip(BatchLoader(split.train, batches: batches), batches) {
            #expect(loaded.indices == expected)
            #expect(try loaded.batch.get().scalars == split.train.batch(expected).scalars)
            seen += 1
        }
        #expect(seen == 3)
    }

    @Test func aDetectorTrainsOnStreamedFilesAsOnTheSameImagesInMemory() throws {
        let root = try Self.makeFolder(side: 28, trainCount: 32)
        defer { try? FileManager.default.removeItem(at: root) }
        var split = try ImageFolderSplit.load(root: root.path, normalClass: "good", channels: 1, resize: nil, requireTest: true)
        let preprocessor = try split.fitPreprocessor()
        let inMemory = try preprocessor.apply(ImageFolder.load(root: root.path, split: "train", channels: 1) { $0 == 0 })

        var configuration = DetectorTests.configuration(seed: 2, epochs: 1)
        configuration.tapScore = .nearestNeighbor
        configuration.fusion = .standardized
        let streamed = try MOCCADetector(configuration: configuration), held = try MOCCADetector(configuration: configuration)
        try streamed.fit(normal: split.train)
        try held.fit(normal: inMemory)
        let test = try #require(split.test)
        let a = try streamed.score(test), b = try held.score(test)
        #expect(a.overall == b.overall)
        #expect(a.perChannel == b.perChannel)
        #expect(try streamed.evaluate(test).overall.auroc == held.evaluate(test).overall.auroc)
    }

    @Test func decodedImagesAreKeptWithinTheBudgetAndDecodedAgainPastIt() throws {
        let root = try Self.makeFolder(side: 16, trainCount: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        let files = try ImageFolder.imageFiles(in: root.appendingPathComponent("train/good").path)
        let kept = try ImageFiles(files: files, channels: 1)
        let uncached = try ImageFiles(files: files, channels: 1, cacheBytes: 0)
        let before = try kept.batch([0]).scalars
        _ = try uncached.batch([0])
        // The file changes on disk: the cached source still has what it decoded first.
        try writeBytes(makePNG(width: 16, height: 16, channels: 1, pixels: [UInt8](repeating: 9, count: 256)),
                       to: URL(fileURLWithPath: files[0]))
        #expect(try kept.batch([0]).scalars == before)
        #expect(try uncached.batch([0]).scalars.allSatisfy { $0 == Float(9) / 255 })
    }

    @Test func testImagesOfAnotherSizeAreAnErrorUnlessResized() throws {
        let root = try Self.makeFolder(side: 8, trainCount: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        try writeBytes(makePNG(width: 9, height: 8, channels: 1, pixels: [UInt8](repeating: 50, count: 72)),
                       to: root.appendingPathComponent("test/bad/!first.png"))
        let error = #expect(throws: DataError.self) {
            _ = try ImageFolderSplit.load(root: root.path, normalClass: "good", channels: 1, resize: nil, requireTest: true)
        }
        #expect(String(describing: error).contains("--image-size"), "\(String(describing: error))")
        let resized = try ImageFolderSplit.load(root: root.path, normalClass: "good", channels: 1, resize: ImageResize(height: 8, width: 8), requireTest: true)
        #expect(resized.test?.sampleShape == [1, 8, 8])
    }

    @Test func anEmptyNormalClassFolderNamesTheFolder() throws {
        let root = try Self.makeFolder(side: 8, trainCount: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("train/empty"), withIntermediateDirectories: true)
        let error = #expect(throws: DataError.self) {
            _ = try ImageFolderSplit.load(root: root.path, normalClass: "empty", channels: 1, resize: nil, requireTest: false)
        }
        #expect(String(describing: error).contains("train/empty"), "\(String(describing: error))")
    }

    @Test func aTestSplitWithoutAnomaliesCannotBeEvaluated() throws {
        let root = try Self.makeFolder(side: 8, trainCount: 2)
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.removeItem(at: root.appendingPathComponent("test/bad"))
        let error = #expect(throws: DataError.self) {
            _ = try ImageFolderSplit.load(root: root.path, normalClass: "good", channels: 1, resize: nil, requireTest: true)
        }
        #expect(String(describing: error).contains("found 6 normal and 0 anomalous"), "\(String(describing: error))")
        #expect(throws: Never.self) { _ = try ImageFolderSplit.load(root: root.path, normalClass: "good", channels: 1, resize: nil, requireTest: false) }
    }

    @Test(arguments: ["32", "48x64", "48X64"])
    func imageSizesParse(text: String) throws {
        let resize = try ImageResize(parsing: text)
        #expect(resize.height == (text == "32" ? 32 : 48) && resize.width == (text == "32" ? 32 : 64))
    }

    @Test(arguments: ["", "0", "32x", "x32", "32x32x3", "-4", "abc", "100000"])
    func badImageSizesAreMalformedNamingTheText(text: String) {
        let error = #expect(throws: DataError.self) { _ = try ImageResize(parsing: text) }
        #expect(String(describing: error).contains("'\(text)'"))
    }
}
