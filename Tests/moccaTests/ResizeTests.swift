import Foundation
import MOCCATestSupport
import Testing

/// `--image-size`: an image folder of another size trains a detector of the network's
/// size, and the detector resizes new files as training did.
@Suite("Resizing image folders")
struct ResizeTests {
    /// The tiny data set's images, as 48×64 grey PNGs (nearest-neighbour upscaled).
    static func greyFolder(at root: URL) throws {
        for (split, count) in [("train", 16), ("test", 4)] {
            for (label, name) in ["a", "b"].enumerated() {
                for index in 0..<count {
                    let rgb = TinyData.image(label: label, seed: UInt64(index + 1000 * label + (split == "test" ? 100 : 0)))
                    var grey: [UInt8] = []
                    for y in 0..<48 {
                        for x in 0..<64 { grey.append(rgb[3 * ((y * 32 / 48) * 32 + x / 2)]) }
                    }
                    try writeBytes(makePNG(width: 64, height: 48, channels: 1, pixels: grey),
                                   to: root.appendingPathComponent("\(split)/\(name)/\(String(format: "%03d", index)).png"))
                }
            }
        }
    }

    @Test func aFolderOfLargerGreyImagesTrainsAndScoresAt32Pixels() throws {
        let folder = try makeTemporaryDirectory("resize")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("det")
        try Self.greyFolder(at: data)
        let training = try Mocca.train(data, out: out, ["--image-size", "32", "--channels", "3", "--resize-filter", "bilinear"])
        #expect(training.status == 0, "\(training.stderr)")
        #expect(training.stdout.contains("AUROC"))
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"resize\"") && manifest.contains("\"bilinear\""))

        let scoring = try Mocca.run(["score", out.path, data.appendingPathComponent("test/b").path])
        #expect(scoring.status == 0, "\(scoring.stderr)")
        #expect(scoring.stdout.split(separator: "\n").count == 5)
        let evaluation = try Mocca.run(["evaluate", out.path])
        #expect(evaluation.status == 0, "\(evaluation.stderr)")
        #expect(evaluation.stdout.contains("AUROC"))
    }

    @Test func aSizeTheNetworkCannotTakeStopsBeforeReadingAnyImage() throws {
        let folder = try makeTemporaryDirectory("resize-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data"), out = folder.appendingPathComponent("det")
        try Self.greyFolder(at: data)
        let run = try Mocca.train(data, out: out, ["--image-size", "28"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("network takes 32x32 images; pass --image-size 32"), "\(run.stderr)")
        let unsized = try Mocca.train(data, out: out, ["--image-size", "32", "--channels", "1"])
        #expect(unsized.stderr.contains("takes 3-channel images; pass --channels 3"), "\(unsized.stderr)")
        let other = try Mocca.run(["train", "--dataset", "mnist", "--data", folder.path, "--normal-class", "1", "--image-size", "32", "--out", out.path])
        #expect(other.stderr.contains("--image-size applies to image folders and inspection data sets; mnist images have a fixed size"), "\(other.stderr)")
    }
}
