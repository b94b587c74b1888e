import Foundation
import MOCCACore
import MOCCANN
import MOCCATestSupport
import Testing

/// Bad data, bad detectors and runaway training: what the tool scores, refuses and says.
@Suite struct FaultTests {
    @Test func oneCorruptImageDoesNotStopTheOthersFromBeingScored() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("corrupt")
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = folder.appendingPathComponent("in/good.png")
        try TinyData.write(TinyData.image(label: 0, seed: 1), to: good)
        let garbage = folder.appendingPathComponent("in/garbage.png")
        try Data("not an image".utf8).write(to: garbage)
        let small = folder.appendingPathComponent("in/small.png")
        try writeBytes(makePNG(width: 2, height: 2, channels: 3, pixels: Array(repeating: 9, count: 12)), to: small)
        let input = folder.appendingPathComponent("in").path

        let run = try Mocca.run(["score", fixture.detector.path, input])
        #expect(run.status == 2, "\(run.stderr)")
        let rows = run.stdout.split(separator: "\n").dropFirst()
        #expect(rows.count == 1)
        #expect(rows.first?.hasPrefix(good.path + ",") == true)
        #expect(run.stderr.contains("skipped \(garbage.path): not a JPEG, PNG or TIFF file"), "\(run.stderr)")
        #expect(run.stderr.contains("skipped \(small.path): the image is 2x2; the detector expects 32x32"), "\(run.stderr)")
        #expect(run.stderr.contains("2 of 3 images could not be scored"))

        let csv = folder.appendingPathComponent("scores.csv")
        let skipping = try Mocca.run(["score", fixture.detector.path, input, "--skip-bad", "--output", csv.path])
        #expect(skipping.status == 0, "\(skipping.stderr)")
        #expect(skipping.stderr.contains("skipped \(garbage.path)"))
        let written = try String(contentsOf: csv, encoding: .utf8).split(separator: "\n")
        #expect(written.count == 2)
    }

    @Test func aDetectorWithNaNWeightsIsRefusedByName() throws {
        let detector = try Shared.detectorCopy("nan-weights")
        defer { try? FileManager.default.removeItem(at: detector.deletingLastPathComponent()) }
        let weights = detector.appendingPathComponent("weights.safetensors")
        var contents = try SafeTensors.read(from: weights)
        let key = try #require(contents.tensors.keys.sorted().first { $0.hasPrefix("network.") })
        let tensor = try #require(contents.tensors[key])
        contents.tensors[key] = try Tensor(shape: tensor.shape, scalars: Array(repeating: .nan, count: tensor.shape.reduce(1, *)))
        try SafeTensors.write(contents, to: weights)

        let image = detector.deletingLastPathComponent().appendingPathComponent("image.png")
        try TinyData.write(TinyData.image(label: 0, seed: 1), to: image)
        let run = try Mocca.run(["score", detector.path, image.path])
        #expect(run.status != 0)
        #expect(run.stderr.contains("\(detector.path) is not a usable detector"), "\(run.stderr)")
        #expect(run.stderr.contains("'\(key)' holds NaN"))
        #expect(run.stdout.isEmpty)
    }

    @Test(arguments: ["nan", "inf", "-inf"])
    func aNonFiniteThresholdLeavesTheDetectorUnchanged(_ value: String) throws {
        let detector = try Shared.detectorCopy("calibrate-\(value)")
        defer { try? FileManager.default.removeItem(at: detector.deletingLastPathComponent()) }
        let manifest = detector.appendingPathComponent("manifest.json")
        let before = try Data(contentsOf: manifest)
        // `=`: argument-parser would read `-inf` alone as an option.
        let run = try Mocca.run(["calibrate", detector.path, "--value=\(value)"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("cannot calibrate the detector \(detector.path), left unchanged"), "\(run.stderr)")
        #expect(run.stderr.contains("must be a finite number"))
        #expect(try Data(contentsOf: manifest) == before)
    }

    @Test func anEmptyNormalClassFolderIsNamed() throws {
        let folder = try makeTemporaryDirectory("empty-class")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try TinyData.imageFolder(at: data)
        let normal = data.appendingPathComponent("train/a")
        try FileManager.default.removeItem(at: normal)
        try FileManager.default.createDirectory(at: normal, withIntermediateDirectories: true)
        let run = try Mocca.train(data, out: folder.appendingPathComponent("det"))
        #expect(run.status != 0)
        #expect(run.stderr.contains("class 'a' has no images in \(normal.path)"), "\(run.stderr)")
    }

    @Test func aTestSplitWithoutAnomaliesStopsBeforeTraining() throws {
        let folder = try makeTemporaryDirectory("one-class-test")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try TinyData.imageFolder(at: data)
        try FileManager.default.removeItem(at: data.appendingPathComponent("test/b"))
        let out = folder.appendingPathComponent("det")
        let run = try Mocca.train(data, out: out)
        #expect(run.status != 0)
        #expect(run.stderr.contains("\(data.appendingPathComponent("test").path): evaluating needs normal images (test/a/) and anomalous ones"), "\(run.stderr)")
        #expect(run.stderr.contains("found 4 normal and 0 anomalous"), "\(run.stderr)")
        #expect(!run.stderr.contains("epoch"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func divergingTrainingStopsAndSavesNothingUnlessAllowed() throws {
        let fixture = try Shared.fixture()
        let folder = try makeTemporaryDirectory("diverge")
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("det")
        // On this data the autoencoder's loss levels off even at --ae-lr 1e6; the one-class
        // phase's runs away at once.
        let runaway = ["--oc-lr", "1e6", "--oc-epochs", "2", "--no-evaluate"]
        let run = try Mocca.train(fixture.data, out: out, runaway)
        #expect(run.status != 0)
        #expect(run.stderr.contains("the one-class phase diverged"), "\(run.stderr)")
        #expect(run.stderr.contains("--allow-divergence"))
        #expect(!FileManager.default.fileExists(atPath: out.path))

        let allowed = try Mocca.train(fixture.data, out: out, runaway + ["--allow-divergence"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("manifest.json").path))
    }

    @Test func channelsThatDoNotVaryAreWarnedAboutAndReported() throws {
        let folder = try makeTemporaryDirectory("constant")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try TinyData.imageFolder(at: data, train: 0)
        // Sixteen copies of one image: every training score is the same.
        for index in 0..<16 {
            try TinyData.write(TinyData.image(label: 0, seed: 1), to: data.appendingPathComponent("train/a/\(index).png"))
        }
        try TinyData.write(TinyData.image(label: 1, seed: 1), to: data.appendingPathComponent("train/b/0.png"))
        let report = folder.appendingPathComponent("report.json")
        let run = try Mocca.train(data, out: folder.appendingPathComponent("det"), ["--report", report.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("warning: the channels conv1, conv2, conv3, code did not vary on the training images"), "\(run.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: report)) as? [String: Any]
        #expect(json?["constantChannels"] as? [String] == ["conv1", "conv2", "conv3", "code"])
    }
}
