import Foundation
import MOCCACore
import MOCCATestSupport
import Testing

/// `mocca train --dataset mvtec|mtd|folder` on generated trees in the layouts users have on disk.
@Suite struct InspectionWorkflowTests {
    /// A quick schedule on 28-px grey patches, which the small MNIST network takes.
    static let lenetPatches = ["--network", "mnist-lenet", "--channels", "1", "--image-size", "56", "--patch-size", "28",
                               "--samples-per-epoch", "32", "--ae-epochs", "1", "--oc-epochs", "1", "--batch-size", "16"]

    /// Runs `mocca report` on `detector` into `folder` and checks that the page references
    /// only images that exist; returns the page and its image sources.
    static func report(_ detector: URL, into folder: URL, examples: Int) throws -> (page: String, sources: [String]) {
        let reported = try Mocca.run(["report", detector.path, "--out", folder.path, "--examples", "\(examples)"])
        #expect(reported.status == 0, "\(reported.stderr)")
        let page = try String(contentsOf: folder.appendingPathComponent("index.html"), encoding: .utf8)
        let sources = page.components(separatedBy: "src=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
        for source in sources { #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent(source).path), "\(source)") }
        return (page, sources)
    }

    @Test func mvtecTextureCategoryTrainsOnPatchesAndReportsPerDefect() throws {
        let folder = try makeTemporaryDirectory("mvtec-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticInspection.writeMVTecCategory(root: folder.appendingPathComponent("data"), category: "carpet", size: 56, channels: 3,
                                                   trainCount: 8, goodTestCount: 3)
        let out = folder.appendingPathComponent("det")
        let run = try Mocca.run(["train", "--dataset", "mvtec", "--data", folder.appendingPathComponent("data").path, "--category", "carpet",
                                 "--out", out.path] + Self.lenetPatches)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("mvtec:carpet: 7 defect-free training images, 1 validation and 7 test images (with masks)"), "\(run.stderr)")
        #expect(run.stdout.contains("test split of mvtec:carpet (3 defect-free, 4 defective images)"), "\(run.stdout)")
        #expect(run.stdout.contains("defect hole") && run.stdout.contains("defect scratch"))
        #expect(run.stdout.contains("pixel AUROC") && run.stdout.contains("PRO (FPR ≤ 0.3)"), "\(run.stdout)")
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"patchSize\" : 28"), "\(manifest)")

        // Scoring files: one row per image, its score the highest of its patches.
        let test = folder.appendingPathComponent("data/carpet/test")
        let scored = try Mocca.run(["score", out.path, test.path])
        #expect(scored.status == 0, "\(scored.stderr)")
        let rows = scored.stdout.split(separator: "\n")
        #expect(rows.first?.hasPrefix("path,score,conv1") == true && rows.count == 1 + 7, "\(scored.stdout)")
        // Evaluating again reads the same split.
        let evaluated = try Mocca.run(["evaluate", out.path])
        #expect(evaluated.status == 0 && evaluated.stdout.contains("test split of mvtec:carpet (3 defect-free, 4 defective images)"), "\(evaluated.stderr)")

        // The report: a page whose every image exists.
        let (page, sources) = try Self.report(out, into: folder.appendingPathComponent("report"), examples: 3)
        #expect(sources.count >= 3 + 3)
        #expect(page.contains("mvtec:carpet"))
    }

    @Test func mvtecObjectCategoryTrainsOnWholeRotatedImages() throws {
        let folder = try makeTemporaryDirectory("mvtec-object")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try SyntheticInspection.writeMVTecCategory(root: data, category: "bottle", size: 28, channels: 1, trainCount: 10, goodTestCount: 3)
        let out = folder.appendingPathComponent("det")
        let run = try Mocca.run(["train", "--dataset", "mvtec", "--data", data.path, "--category", "bottle", "--out", out.path,
                                 "--network", "mnist-lenet", "--channels", "1", "--image-size", "28", "--ae-epochs", "1", "--oc-epochs", "1",
                                 "--batch-size", "4"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("training on the whole of the 28-px images"), "\(run.stderr)")
        // bottle is rotation-invariant: trained with rotations of up to ±45°; whole images give no map.
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"minimumDegrees\" : -45"), "\(manifest)")
        #expect(run.stdout.contains("test split of mvtec:bottle") && !run.stdout.contains("pixel AUROC"), "\(run.stdout)")
        let report = try Mocca.run(["report", out.path, "--out", folder.appendingPathComponent("report").path])
        #expect(report.status == 0, "\(report.stderr)")
    }

    @Test func inspectionOptionsAreCheckedBeforeTraining() throws {
        let folder = try makeTemporaryDirectory("mvtec-cli-bad")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try SyntheticInspection.writeMVTecCategory(root: data, category: "carpet", size: 32, channels: 1, trainCount: 3, goodTestCount: 1)
        let base = ["train", "--dataset", "mvtec", "--data", data.path, "--out", folder.appendingPathComponent("det").path]
        let noCategory = try Mocca.run(base + Self.lenetPatches)
        #expect(noCategory.status != 0 && noCategory.stderr.contains("needs --category"), "\(noCategory.stderr)")
        let bigPatch = try Mocca.run(base + ["--category", "carpet", "--image-size", "16"] + Self.lenetPatches.filter { $0 != "56" && $0 != "--image-size" })
        #expect(bigPatch.status != 0 && bigPatch.stderr.contains("patch size 28 is larger than the 16-pixel images"), "\(bigPatch.stderr)")
        let classOption = try Mocca.run(base + ["--category", "carpet", "--normal-class", "good"] + Self.lenetPatches)
        #expect(classOption.status != 0 && classOption.stderr.contains("--normal-class does not apply to mvtec"), "\(classOption.stderr)")
        // A truncated training image is named before training; --skip-bad leaves it out.
        let image = data.appendingPathComponent("carpet/train/good/001.png")
        let bytes = try Data(contentsOf: image)
        try bytes.prefix(bytes.count / 2).write(to: image)
        let truncated = try Mocca.run(base + ["--category", "carpet", "--no-evaluate"] + Self.lenetPatches)
        #expect(truncated.status != 0 && truncated.stderr.contains("001.png") && truncated.stderr.contains("--skip-bad"), "\(truncated.stderr)")
    }

    @Test func mtdLayoutTrainsWithTheSeededSplit() throws {
        let folder = try makeTemporaryDirectory("mtd-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mtd")
        try SyntheticInspection.writeMTD(root: data, size: 56, freeCount: 12, defects: ["Crack": 4, "Blowhole": 4])
        let run = try Mocca.run(["train", "--dataset", "mtd", "--data", data.path, "--out", folder.appendingPathComponent("det").path] + Self.lenetPatches)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("mtd: 8 defect-free training images, 3 validation and 9 test images"), "\(run.stderr)")
        #expect(run.stdout.contains("validation split of mtd") && run.stdout.contains("test split of mtd"), "\(run.stdout)")
        #expect(run.stdout.contains("image-level score             AUROC     AUPR max bACC  AUROC 95% CI"), "\(run.stdout)")
        // Its photos are tiles of their own (not named exp<L>_num_<N>): the intervals are DeLong's.
        #expect(!run.stdout.contains("AUROC intervals count the"), "\(run.stdout)")
    }

    /// MTD photos named by lighting and capture number gather into tiles, and the AUROC
    /// intervals count tiles; `mocca split` names each photo's tile.
    @Test func mtdTilesAreTheUnitsOfTheAUROCIntervals() throws {
        let folder = try makeTemporaryDirectory("mtd-tiles-cli")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mtd")
        try SyntheticInspection.writeMTD(root: data, size: 56, freeCount: 36, defects: ["Crack": 12, "Blowhole": 12])
        // Tiles of three photos under lightings 1…3, numbered in capture order.
        for (type, prefix, count) in [("Free", "free", 36), ("Crack", "crack", 12), ("Blowhole", "blowhole", 12)] {
            for i in 0..<count {
                for ext in ["jpg", "png"] {
                    let imgs = data.appendingPathComponent("MT_\(type)/Imgs")
                    try FileManager.default.moveItem(at: imgs.appendingPathComponent("\(prefix)_\(i).\(ext)"),
                                                     to: imgs.appendingPathComponent("exp\(i % 3 + 1)_num_\(100 + i).\(ext)"))
                }
            }
        }
        let run = try Mocca.run(["train", "--dataset", "mtd", "--data", data.path, "--out", folder.appendingPathComponent("det").path] + Self.lenetPatches)
        #expect(run.status == 0, "\(run.stderr)")
        let tested = try #require(run.stdout.components(separatedBy: "test split of mtd").last)
        #expect(tested.contains("AUROC intervals count the"), "\(run.stdout)")
        let listed = try Mocca.run(["split", "--dataset", "mtd", "--data", data.path])
        #expect(listed.stdout.contains("\"group\" : \"MT_Crack/exp1_num_100\""), "\(listed.stdout)")
    }

    /// `mocca split` lists the parts `train` uses: every image once, whole tiles together,
    /// the same for the same seed, another for another; classification data sets are refused.
    @Test func splitListsThePartsTrainUses() throws {
        let folder = try makeTemporaryDirectory("mtd-split")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mtd")
        try SyntheticInspection.writeMTD(root: data, size: 28, freeCount: 12, defects: ["Crack": 4, "Blowhole": 4])
        struct Listing: Decodable {
            struct Image: Decodable { var path: String; var defect: String?; var mask: String? }
            var name: String, seed: UInt64, counts: [String: Int], train: [Image], validation: [Image], test: [Image]
        }
        func listing(seed: Int) throws -> Listing {
            let run = try Mocca.run(["split", "--dataset", "mtd", "--data", data.path, "--seed", "\(seed)"])
            #expect(run.status == 0, "\(run.stderr)")
            return try JSONDecoder().decode(Listing.self, from: Data(run.stdout.utf8))
        }
        let first = try listing(seed: 3)
        // The counts train prints for this tree (`mtdLayoutTrainsWithTheSeededSplit`).
        #expect(first.name == "mtd" && first.seed == 3)
        #expect(first.counts == ["train": 8, "validation": 3, "test": 9] && first.train.count == 8)
        let paths = (first.train + first.validation + first.test).map(\.path)
        #expect(Set(paths).count == 20 && paths.count == 20)
        #expect(first.train.allSatisfy { $0.defect == nil && $0.path.contains("MT_Free") })
        #expect(first.test.filter { $0.defect != nil }.allSatisfy { $0.mask?.hasSuffix(".png") == true })
        #expect(try listing(seed: 3).test.map(\.path) == first.test.map(\.path))
        #expect(try listing(seed: 4).train.map(\.path) != first.train.map(\.path))

        // To a file, atomically, with a line saying what was written.
        let file = folder.appendingPathComponent("split.json")
        let written = try Mocca.run(["split", "--dataset", "mtd", "--data", data.path, "--seed", "3", "--out", file.path])
        #expect(written.status == 0 && written.stdout.isEmpty, "\(written.stderr)")
        #expect(written.stderr.contains("mtd, seed 3: 8 training, 3 validation and 9 test images, written to"), "\(written.stderr)")
        #expect(try JSONDecoder().decode(Listing.self, from: Data(contentsOf: file)).test.map(\.path) == first.test.map(\.path))

        let refused = try Mocca.run(["split", "--dataset", "cifar10", "--data", folder.path, "--normal-class", "cat"])
        #expect(refused.status != 0 && refused.stderr.contains("mocca split lists the parts of inspection data sets"), "\(refused.stderr)")
    }

    /// Whole images with local maps: pixel metrics and the maps' own image score, kept by the
    /// saved detector for `evaluate` and `report`; patches get them too; a vector tap is refused.
    @Test func wholeImagesWithLocalMapsGetAnomalyMaps() throws {
        let folder = try makeTemporaryDirectory("mtd-local")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mtd")
        try SyntheticInspection.writeMTD(root: data, size: 56, freeCount: 12, defects: ["Crack": 4, "Blowhole": 4])
        let out = folder.appendingPathComponent("det")
        let whole = ["--network", "mnist-lenet", "--channels", "1", "--image-size", "28", "--patch-size", "0", "--ae-epochs", "1", "--oc-epochs", "1",
                     "--batch-size", "4", "--normalization", "image"]
        let run = try Mocca.run(["train", "--dataset", "mtd", "--data", data.path, "--out", out.path, "--local-maps", "conv1", "--local-references", "50"] + whole)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("local map, maximum") && run.stdout.contains("pixel AUROC"), "\(run.stdout)")
        let manifest = try String(contentsOf: out.appendingPathComponent("manifest.json"), encoding: .utf8)
        #expect(manifest.contains("\"localMaps\"") && manifest.contains("\"references\" : 50"), "\(manifest)")
        let evaluated = try Mocca.run(["evaluate", out.path])
        #expect(evaluated.status == 0 && evaluated.stdout.contains("pixel AUROC"), "\(evaluated.stderr)")
        let (_, sources) = try Self.report(out, into: folder.appendingPathComponent("report"), examples: 2)
        #expect(sources.contains("example-001-overlay.png"), "the examples show their local maps: \(sources)")

        // On patches, each patch's map is placed back on its image.
        let base = ["train", "--dataset", "mtd", "--data", data.path, "--out", folder.appendingPathComponent("patches").path]
        let patches = try Mocca.run(base + ["--local-maps", "conv1", "--no-evaluate"] + Self.lenetPatches)
        #expect(patches.status == 0, "\(patches.stderr)")
        let patchEvaluation = try Mocca.run(["evaluate", folder.appendingPathComponent("patches").path])
        #expect(patchEvaluation.status == 0 && patchEvaluation.stdout.contains("local map, maximum") && patchEvaluation.stdout.contains("pixel AUROC"),
                "\(patchEvaluation.stdout)")
        let vector = try Mocca.run(["train", "--dataset", "mtd", "--data", data.path, "--out", folder.appendingPathComponent("vector").path,
                                    "--local-maps", "code"] + whole)
        #expect(vector.status != 0 && vector.stderr.contains("code of the mnist-lenet network is not one"), "\(vector.stderr)")
        #expect(!vector.stderr.contains("autoencoder epoch"), "refused before training")
    }

    @Test func inspectionBenchmarkComparesScoresOnValidationAndReportsTest() throws {
        let folder = try makeTemporaryDirectory("mtd-bench")
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("mtd")
        try SyntheticInspection.writeMTD(root: data, size: 56, freeCount: 12, defects: ["Crack": 4])
        let results = folder.appendingPathComponent("runs.jsonl")
        let run = try Mocca.run(["inspection-benchmark", "--dataset", "mtd", "--data", data.path, "--seeds", "0,1", "--out", results.path, "--coreset", "10"]
                                + Self.lenetPatches)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = try String(contentsOf: results, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4, "two seeds, two boundaries")
        #expect(run.stdout.contains("chosen on validation:") && run.stdout.contains("hard      nearest-neighbor"), "\(run.stdout)")
        #expect(run.stdout.contains("against a coreset of 10"), "\(run.stdout)")
        for line in lines {
            let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            let test = record?["test"] as? [String: Any]
            #expect(test?["reconstruction"] is Double && test?["paper"] is Double && test?["nearestNeighbor"] is Double)
        }
    }
}
