import Foundation
import MOCCA
import MOCCACore
import MOCCAData
import MOCCATestSupport
import Testing

/// Problems found in review, each pinned by a test.
@Suite("Regressions", .serialized)
struct RegressionTests {
    @Test func decodingToTwoChannelsIsAnErrorNotAnOverflow() throws {
        let folder = try makeTemporaryDirectory("channels")
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("grey.png")
        try Data(makePNG(width: 2, height: 2, channels: 1, pixels: [0, 64, 128, 255])).write(to: file)
        #expect(throws: DataError.self) { _ = try ImageDecoder.decode(path: file.path, channels: 2) }
    }

    @Test func sumBackwardReadsGradientViewsAtTheirOffset() throws {
        let x = leafTensor([2, 3], [1, 2, 3, 4, 5, 6]), t = leafTensor([2, 3], [1, 1, 1, 1, 1, 1])
        let joined = try Tensor.concatenate([x.sum(alongAxes: [1]), t.sum(alongAxes: [1])], alongAxis: 0)
        let weights = try Tensor(shape: [4], scalars: [1, 2, 3, 4])
        try (joined * weights).sum().backward()
        #expect(try #require(x.grad).scalars == [1, 1, 1, 2, 2, 2])
        #expect(try #require(t.grad).scalars == [3, 3, 3, 4, 4, 4])
    }

    @Test func summingAViewOverNoAxesKeepsItsValues() throws {
        let x = try Tensor(shape: [4, 2], scalars: [0, 1, 2, 3, 4, 5, 6, 7])
        let view = try x.slice(alongAxis: 0, 2..<4)
        #expect(try view.sum(alongAxes: []).scalars == [4, 5, 6, 7])
    }

    @Test func reconstructionChannelWithoutPretrainingDoesNotCrash() throws {
        var configuration = DetectorTests.configuration()
        configuration.reconstructionChannel = true
        configuration.fusion = .standardized
        let detector = try MOCCADetector(configuration: configuration)
        try detector.fitOneClass(normal: DetectorTests.train)
        let scores = try detector.score(DetectorTests.train)
        #expect(scores.channels.last == "reconstruction")
        #expect(scores.perChannel.allSatisfy { $0.count == DetectorTests.train.shape[0] })
    }

    @Test func manifestWhoseAutoencoderFlagDisagreesIsRefused() throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration())
        let folder = try makeTemporaryDirectory("flag").appendingPathComponent("detector")
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        try detector.save(to: folder)
        let manifestURL = folder.appendingPathComponent("manifest.json")
        var manifest = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
        manifest["hasAutoencoder"] = true
        try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
        #expect(throws: MOCCAError.self) { _ = try MOCCADetector.load(from: folder) }
    }

    private func leafTensor(_ shape: [Int], _ values: [Float]) -> Tensor {
        let tensor = (try? Tensor(shape: shape, scalars: values)) ?? Tensor(zeros: shape)
        tensor.requiresGrad = true
        return tensor
    }
}
