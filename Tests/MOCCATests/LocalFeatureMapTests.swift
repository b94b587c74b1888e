import Foundation
import MOCCA
import MOCCACore
import MOCCAData
import MOCCANN
import Testing

/// Local feature maps: where their maximum lands, their reference count, and that they
/// survive saving and loading; and the options that cannot work, refused before training.
extension DetectorTests {
    static func localMapConfiguration(epochs: Int = 1, tap: String = "conv1") -> MOCCAConfiguration {
        var configuration = configuration(seed: 5, epochs: epochs)
        configuration.localMaps = LocalMapOptions(tap: tap, references: 64, locationsPerImage: 32)
        return configuration
    }

    /// One normal image with a checkerboard painted into its lower left: rows and columns
    /// differ, so a map with its axes swapped would peak elsewhere.
    static func paintedImage(rows: Range<Int>, columns: Range<Int>) throws -> Tensor {
        var values = try SyntheticImages.normal(count: 1, seed: 77).scalars
        for y in rows {
            for x in columns { values[y * SyntheticImages.side + x] = (x + y) % 2 == 0 ? 1 : 0 }
        }
        return try Tensor(shape: [1, 1, SyntheticImages.side, SyntheticImages.side], scalars: values)
    }

    @Test func aPaintedDefectLandsUnderTheLocalMapsMaximum() throws {
        // The nearest-neighbour search needs no training: an untrained encoder's first
        // feature map already tells a checkerboard from smooth blobs.
        let detector = try MOCCADetector(configuration: Self.localMapConfiguration())
        try detector.fitLocalMaps(on: TensorSource(Self.train))
        let memory = try #require(detector.localMemory)
        #expect(memory.referenceCount == 64)

        let (rows, columns) = (18..<25, 3..<10)
        let maps = try #require(try detector.localMaps(TensorSource(Self.paintedImage(rows: rows, columns: columns))))
        #expect(maps.imageCount == 1 && maps.height > 1 && maps.width > 1)
        let side = SyntheticImages.side
        let map = try maps.map(ofImage: 0, side: side)
        let peak = try #require(map.indices.max { map[$0] < map[$1] })
        // Within the receptive field's reach of the painted square.
        #expect((rows.lowerBound - 3..<rows.upperBound + 3).contains(peak / side)
                && (columns.lowerBound - 3..<columns.upperBound + 3).contains(peak % side), "peak at \(peak / side), \(peak % side)")
        // The image score is the map's maximum, and a normal image scores lower.
        let normal = try #require(try detector.localMaps(TensorSource(SyntheticImages.normal(count: 1, seed: 78))))
        #expect(maps.imageScores[0] > normal.imageScores[0])
    }

    @Test func localMapsSurviveSavingAndLoading() throws {
        let directory = try makeTemporaryDirectory("local-maps")
        defer { try? FileManager.default.removeItem(at: directory) }
        let detector = try Self.fitted(Self.localMapConfiguration())
        let url = directory.appendingPathComponent("model.mocca")
        try detector.save(to: url)
        let loaded = try MOCCADetector.load(from: url)
        #expect(loaded.configuration.localMaps == LocalMapOptions(tap: "conv1", references: 64, locationsPerImage: 32))
        let images = try TensorSource(Self.test.0)
        let before = try #require(try detector.localMaps(images)), after = try #require(try loaded.localMaps(images))
        #expect(after.values == before.values && after.height == before.height)
        #expect(before.imageCount == Self.test.0.shape[0])

        // A detector whose weights lost the references is refused, naming them.
        let weights = url.appendingPathComponent(MOCCADetector.weightsName)
        let contents = try SafeTensors.read(from: weights)
        try SafeTensors.write(.init(tensors: contents.tensors.filter { !$0.key.hasPrefix("mocca.local.") }, metadata: contents.metadata), to: weights)
        #expect {
            _ = try MOCCADetector.load(from: url)
        } throws: { "\($0)".contains("mocca.local.references") }
    }

    @Test func localMapsAreRefusedWhereTheyCannotWork() throws {
        Self.expectInvalidConfiguration("an unknown tap") {
            var configuration = Self.configuration()
            configuration.localMaps = LocalMapOptions(tap: "o9")
            _ = try MOCCADetector(configuration: configuration)
        }
        Self.expectInvalidConfiguration("one reference") {
            var configuration = Self.configuration()
            configuration.localMaps = LocalMapOptions(tap: "conv1", references: 1)
            _ = try MOCCADetector(configuration: configuration)
        }
        // The code is a vector, not a map: refused before any training.
        let split = InspectionSplit(name: "empty", train: [], validation: [], test: [])
        let whole = InspectionPreprocessing(channels: 1, imageSize: 28)
        Self.expectInvalidConfiguration("a vector tap") {
            try MOCCADetector(configuration: Self.localMapConfiguration(tap: "code")).fit(inspection: split, preprocessing: whole)
        }
    }
}
