import Foundation
import MOCCACore
@testable import MOCCAData
import MOCCATestSupport
import Testing

@Suite("Inspection layouts")
struct InspectionLayoutTests {
    @Test func mvtecCategoryIsReadWithDefectTypesAndMasks() throws {
        let root = try makeTemporaryDirectory("mvtec")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticInspection.writeMVTecCategory(root: root, category: "carpet", size: 16, channels: 3)
        let split = try InspectionLayout.mvtec(root: root.path, category: "carpet")
        #expect(split.name == "mvtec:carpet")
        // A tenth of train/good (rounded) is held out as defect-free validation images.
        #expect(split.train.count == 5 && split.train.allSatisfy { !$0.isAnomalous && $0.path.contains("train/good") })
        #expect(split.validation.count == 1 && !split.validation[0].isAnomalous && split.validation[0].path.contains("train/good"))
        #expect(split.test.count == 3 + 2 * 2)
        #expect(split.defectTypes == ["hole", "scratch"])
        #expect(split.hasMasks)
        for image in split.test where image.isAnomalous {
            let mask = try #require(image.mask)
            #expect(mask.hasSuffix("ground_truth/\(image.defectName)/\(((image.path as NSString).lastPathComponent as NSString).deletingPathExtension)_mask.png"))
        }
        #expect(split.test.filter { !$0.isAnomalous }.allSatisfy { $0.mask == nil })
    }

    @Test func mvtecWithoutGroundTruthHasNoMasks() throws {
        let root = try makeTemporaryDirectory("mvtec-nomask")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticInspection.writeMVTecCategory(root: root, category: "bottle", size: 16, channels: 1, masks: false)
        let split = try InspectionLayout.mvtec(root: root.path, category: "bottle")
        #expect(!split.hasMasks)
        #expect(split.test.filter(\.isAnomalous).count == 4)
    }

    @Test func mvtecErrorsNameTheFolderAndWhatIsMissing() throws {
        let root = try makeTemporaryDirectory("mvtec-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticInspection.writeMVTecCategory(root: root, category: "bottle", size: 16, channels: 1)
        // An unknown category lists the ones present.
        #expect { try InspectionLayout.mvtec(root: root.path, category: "cable") } throws: { error in
            "\(error)".contains("cable/train") && "\(error)".contains("categories here: bottle")
        }
        // A missing mask is named with its image.
        let mask = root.appendingPathComponent("bottle/ground_truth/hole/001_mask.png")
        try FileManager.default.removeItem(at: mask)
        #expect { try InspectionLayout.mvtec(root: root.path, category: "bottle") } throws: { error in
            "\(error)".contains(mask.path) && "\(error)".contains("test/hole/001.png")
        }
        // A category without a test set: an error when evaluating, fine for training alone.
        try FileManager.default.removeItem(at: root.appendingPathComponent("bottle/test"))
        #expect { try InspectionLayout.mvtec(root: root.path, category: "bottle") } throws: { error in
            "\(error)".contains("bottle/test") && "\(error)".contains("test images")
        }
        #expect(try InspectionLayout.mvtec(root: root.path, category: "bottle", requireTest: false).test.isEmpty)
        // An empty train/good.
        for file in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent("bottle/train/good").path) {
            try FileManager.default.removeItem(at: root.appendingPathComponent("bottle/train/good/\(file)"))
        }
        #expect(throws: DataError.emptyClass("good", path: root.appendingPathComponent("bottle/train/good").path)) {
            try InspectionLayout.mvtec(root: root.path, category: "bottle", requireTest: false)
        }
    }

    @Test func mtdSplitFollowsTheDocumentedFractionsAndTheSeed() throws {
        let root = try makeTemporaryDirectory("mtd")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticInspection.writeMTD(root: root, size: 8, freeCount: 20, defects: ["Crack": 10, "Blowhole": 7])
        let split = try InspectionLayout.mtd(root: root.path, seed: 3)
        #expect(split.train.count == 14)
        #expect(split.validation.filter { !$0.isAnomalous }.count == 2)
        #expect(split.validation.filter { $0.defect == "crack" }.count == 3)
        #expect(split.validation.filter { $0.defect == "blowhole" }.count == 2)
        #expect(split.test.filter { !$0.isAnomalous }.count == 4)
        #expect(split.test.filter { $0.defect == "crack" }.count == 7)
        #expect(split.test.filter { $0.defect == "blowhole" }.count == 5)
        // Disjoint, complete, masks beside their images.
        let all = (split.train + split.validation + split.test).map(\.path)
        #expect(Set(all).count == 20 + 17)
        #expect((split.validation + split.test).filter(\.isAnomalous).allSatisfy { $0.mask == ($0.path as NSString).deletingPathExtension + ".png" })
        // The same seed gives the same split; another seed another.
        #expect(try InspectionLayout.mtd(root: root.path, seed: 3) == split)
        #expect(try InspectionLayout.mtd(root: root.path, seed: 4).train != split.train)
    }

    @Test func mtdPhotosAreGatheredByTile() {
        let names = ["exp2_num_31", "exp1_num_10", "exp3_num_15", "other", "exp1_num_30", "exp2_num_12", "exp6_num_29"]
        let tiles = InspectionLayout.mtdTiles(names.map { InspectionImage(path: "/d/\($0).jpg") })
        let stems = tiles.map { $0.map { (($0.path as NSString).lastPathComponent as NSString).deletingPathExtension } }
        // Capture order 10, 12, 15, 29, 30, 31: the lighting rises 1, 2, 3, 6, then starts again at 1.
        #expect(stems == [["exp1_num_10", "exp2_num_12", "exp3_num_15", "exp6_num_29"], ["exp1_num_30", "exp2_num_31"], ["other"]])
    }

    /// Every photo of a tile lands in one part, and the parts still hold their shares.
    @Test func mtdSplitKeepsEachTileInOnePart() throws {
        let root = try makeTemporaryDirectory("mtd-tiles")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticInspection.writeMTD(root: root, size: 8, freeCount: 60, defects: ["Crack": 18])
        // Tile k's six photos under lightings 1…6, numbered in capture order.
        func rename(_ folder: String, _ prefix: String, count: Int) throws {
            for i in 0..<count {
                for ext in ["jpg", "png"] {
                    let from = root.appendingPathComponent("\(folder)/Imgs/\(prefix)_\(i).\(ext)")
                    try FileManager.default.moveItem(at: from, to: root.appendingPathComponent("\(folder)/Imgs/exp\(i % 6 + 1)_num_\(100 + i).\(ext)"))
                }
            }
        }
        try rename("MT_Free", "free", count: 60)
        try rename("MT_Crack", "crack", count: 18)
        func tile(_ image: InspectionImage) -> String {
            let number = Int(((image.path as NSString).lastPathComponent as NSString).deletingPathExtension.split(separator: "_")[2]) ?? -1
            return "\(image.defect ?? "free")-\((number - 100) / 6)"
        }
        for seed in [UInt64(0), 1, 2] {
            let split = try InspectionLayout.mtd(root: root.path, seed: seed)
            let parts = [split.train, split.validation, split.test].map { Set($0.map(tile)) }
            #expect(parts[0].isDisjoint(with: parts[1]) && parts[0].isDisjoint(with: parts[2]) && parts[1].isDisjoint(with: parts[2]), "seed \(seed)")
            #expect(split.train.count == 42 && split.validation.filter { !$0.isAnomalous }.count == 6, "seed \(seed): whole tiles of six")
            #expect(split.validation.filter(\.isAnomalous).count == 6 && split.test.filter(\.isAnomalous).count == 12)
            // Photo by photo, as detectors written before the tile split read it: tiles straddle parts.
            let photos = try InspectionLayout.mtd(root: root.path, seed: seed, byTile: false)
            #expect(photos.train.count == 42 && !Set(photos.train.map(tile)).isDisjoint(with: Set(photos.test.map(tile))))
            // Each photo names its tile as its group, for the AUROC's clustered interval.
            let all = split.train + split.validation + split.test
            #expect(Set(all.compactMap(\.group)).count == 13 && all.allSatisfy { $0.group != nil })
            for (a, b) in zip(all, all.dropFirst(7)) { #expect((tile(a) == tile(b)) == (a.group == b.group), "\(a.path) \(b.path)") }
            #expect(all.contains { $0.group == "MT_Free/exp1_num_100" } && all.contains { $0.group == "MT_Crack/exp1_num_112" })
            #expect(InspectionImage.groupIDs(all).map { Set($0).count } == 13)
        }
        // A photo that is a tile of its own has no group, and images without one count alone.
        #expect(InspectionLayout.namingTiles([InspectionImage(path: "/d/MT_Free/Imgs/odd.jpg")])[0].group == nil)
        #expect(InspectionImage.groupIDs([InspectionImage(path: "a"), InspectionImage(path: "b")]) == nil)
        #expect(InspectionImage.groupIDs([InspectionImage(path: "a", group: "t"), InspectionImage(path: "b"), InspectionImage(path: "c", group: "t")]) == [0, 1, 0])
        // A detector's description reads the split it was trained on: new ones by tile, old ones (no field) by photo.
        let preprocessing = InspectionPreprocessing(channels: 1, imageSize: 8)
        let description = InspectionDataDescription(source: .init(layout: "mtd", path: root.path), splitSeed: 1, preprocessing: preprocessing)
        #expect(description.splitByTile)
        let decoded = try JSONDecoder().decode(InspectionDataDescription.self, from: JSONEncoder().encode(description))
        #expect(try decoded.split() == InspectionLayout.mtd(root: root.path, seed: 1))
        var legacy = try JSONSerialization.jsonObject(with: JSONEncoder().encode(description)) as? [String: Any] ?? [:]
        legacy["splitByTile"] = nil
        let old = try JSONDecoder().decode(InspectionDataDescription.self, from: JSONSerialization.data(withJSONObject: legacy))
        #expect(try old.split() == InspectionLayout.mtd(root: root.path, seed: 1, byTile: false))
    }

    @Test func mtdWithoutFreeImagesOrDefectFoldersIsAnError() throws {
        let root = try makeTemporaryDirectory("mtd-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect { try InspectionLayout.mtd(root: root.path, seed: 0) } throws: { "\($0)".contains("MT_Free/Imgs") }
        try SyntheticInspection.writeMTD(root: root, size: 8, freeCount: 3, defects: [:])
        #expect { try InspectionLayout.mtd(root: root.path, seed: 0) } throws: { "\($0)".contains("MT_<Defect>") }
    }

    @Test func folderLayoutReadsDefectTypesFromSubfoldersAndFindsMasks() throws {
        let root = try makeTemporaryDirectory("folder")
        defer { try? FileManager.default.removeItem(at: root) }
        let image = SyntheticInspection.pixels(size: 8, channels: 1, seed: 1)
        for i in 0..<10 { try SyntheticInspection.write(root.appendingPathComponent("normal/\(i).png"), size: 8, channels: 1, pixels: image) }
        for i in 0..<4 {
            try SyntheticInspection.write(root.appendingPathComponent("abnormal/dent/d\(i).png"), size: 8, channels: 1, pixels: image)
            try SyntheticInspection.write(root.appendingPathComponent("masks/dent/d\(i)_mask.png"), size: 8, channels: 1, pixels: image)
        }
        try SyntheticInspection.write(root.appendingPathComponent("abnormal/loose.png"), size: 8, channels: 1, pixels: image)
        try SyntheticInspection.write(root.appendingPathComponent("masks/loose.png"), size: 8, channels: 1, pixels: image)
        let split = try InspectionLayout.folder(normal: root.appendingPathComponent("normal").path,
                                                abnormal: root.appendingPathComponent("abnormal").path,
                                                masks: root.appendingPathComponent("masks").path, seed: 0)
        #expect(split.train.count == 7)
        #expect(split.defectTypes == ["abnormal", "dent"])
        #expect((split.validation + split.test).filter(\.isAnomalous).allSatisfy { $0.mask != nil })
        // Without a mask folder: image-level only; a missing mask is named.
        #expect(try !InspectionLayout.folder(normal: root.appendingPathComponent("normal").path,
                                             abnormal: root.appendingPathComponent("abnormal").path, seed: 0).hasMasks)
        try FileManager.default.removeItem(at: root.appendingPathComponent("masks/loose.png"))
        #expect { try InspectionLayout.folder(normal: root.appendingPathComponent("normal").path,
                                              abnormal: root.appendingPathComponent("abnormal").path,
                                              masks: root.appendingPathComponent("masks").path, seed: 0) } throws: { "\($0)".contains("the mask of") && "\($0)".contains("loose.png") }
    }
}

@Suite("Inspection preprocessing and patches")
struct InspectionPreprocessingTests {
    @Test func reflectionRepeatsNoBorderPixel() {
        #expect((-3...7).map { InspectionPreprocessing.reflect($0, 4) } == [3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1])
        #expect(InspectionPreprocessing.reflect(-5, 1) == 0)
    }

    @Test func scoringGridCoversTheImage() {
        let texture = InspectionPreprocessing.texture(channels: 1)
        #expect(texture.scoringOrigins.count == 64)
        var strided = texture
        strided.imageSize = 100
        strided.patchSize = 32
        strided.scoringStride = 30
        // 0, 30, 60 and a last one flush with the border at 68.
        #expect(Set(strided.scoringOrigins.map(\.x)) == [0, 30, 60, 68])
        #expect(InspectionPreprocessing.object(channels: 3).scoringOrigins.count == 1)
    }

    @Test func validationNamesAPatchLargerThanTheImage() {
        let p = InspectionPreprocessing(channels: 1, imageSize: 32, patchSize: 64)
        #expect { try p.validate() } throws: { "\($0)".contains("patch size 64 is larger than the 32-pixel images") }
        #expect(throws: Never.self) { try InspectionPreprocessing.texture(channels: 3).validate() }
    }

    /// A 90° rotation maps pixel centres onto pixel centres: the sample is the image
    /// rotated exactly, scaled to [-1, 1].
    @Test func rightAngleRotationIsExact() {
        let n = 6
        let pixels = (0..<(n * n)).map { UInt8($0 * 7) }
        let p = InspectionPreprocessing(channels: 1, imageSize: n)
        var out = [Float](repeating: 0, count: n * n)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { p.sample(source, origin: (0, 0), degrees: 90, into: $0) }
        }
        // Output (i, j) samples the image at y = -(j + 0.5 - c) + c - 0.5 = n - 1 - j, x = (i + 0.5 - c) + c - 0.5 = i.
        let expected = (0..<(n * n)).map { k -> Float in
            let (i, j) = (k / n, k % n)
            return Float(pixels[(n - 1 - j) * n + i]) / 127.5 - 1
        }
        #expect(isNear(out, expected, 1e-5))
    }

    @Test func imageNormalizationStandardisesEachImage() throws {
        let root = try makeTemporaryDirectory("normalization")
        defer { try? FileManager.default.removeItem(at: root) }
        // Two images of the same pattern, one darker and flatter: standardised, they agree.
        let bright = (0..<256).map { UInt8(100 + ($0 * 37) % 100) }, dark = bright.map { $0 / 2 }
        var images: [InspectionImage] = []
        for (name, pixels) in [("bright", bright), ("dark", dark)] {
            let url = root.appendingPathComponent("\(name).png")
            try SyntheticInspection.write(url, size: 16, channels: 1, pixels: pixels)
            images.append(InspectionImage(path: url.path))
        }
        var p = InspectionPreprocessing(channels: 1, imageSize: 16)
        p.normalization = .image
        let batch = try InspectionPatches(InspectionImageStore(images, preprocessing: p)).batch([0, 1]).scalars
        let (a, b) = (Array(batch[..<256]), Array(batch[256...]))
        let mean = a.reduce(0, +) / 256, variance = a.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 256
        #expect(abs(mean) < 1e-4 && abs(variance - 1) < 1e-3)
        #expect(isNear(a, b, 0.02), "the halved image standardises to nearly the same values (up to rounding of the halving)")
        p.normalization = nil
        let fixed = try InspectionPatches(InspectionImageStore(images, preprocessing: p)).batch([0]).scalars
        #expect(abs(fixed[0] - (Float(bright[0]) / 127.5 - 1)) < 1e-6)
    }

    @Test func patchesAreCropsAndTheImageScoreIsTheHighestPatchScore() throws {
        let root = try makeTemporaryDirectory("patches")
        defer { try? FileManager.default.removeItem(at: root) }
        let pixels = (0..<(16 * 16)).map { UInt8(truncatingIfNeeded: $0 * 3) }
        let url = root.appendingPathComponent("a.png")
        try SyntheticInspection.write(url, size: 16, channels: 1, pixels: pixels)
        try SyntheticInspection.write(root.appendingPathComponent("b.png"), size: 16, channels: 1, pixels: pixels)
        let p = InspectionPreprocessing(channels: 1, imageSize: 16, patchSize: 8)
        let store = InspectionImageStore([InspectionImage(path: url.path), InspectionImage(path: root.appendingPathComponent("b.png").path, defect: "x")],
                                         preprocessing: p)
        let patches = InspectionPatches(store)
        #expect(patches.count == 8 && patches.patchesPerImage == 4)
        #expect(patches.groups == [0, 0, 0, 0, 1, 1, 1, 1])
        #expect(patches.labels == [0, 0, 0, 0, 1, 1, 1, 1])
        // Patch 3 of the first image is its bottom-right 8×8 square.
        let batch = try patches.batch([3]).scalars
        let expected = (0..<64).map { k in Float(pixels[(8 + k / 8) * 16 + 8 + k % 8]) / 127.5 - 1 }
        #expect(isNear(batch, expected, 1e-6))
        #expect(patches.imageScores([1, 5, 2, 0, -1, -2, -3, 9]) == [5, 9])
        #expect(patches.origin(of: 6).contains("b.png (patch at y 8, x 0)"))
    }

    @Test func trainingSamplesAreSeededAndDrawFromEveryImage() throws {
        let root = try makeTemporaryDirectory("samples")
        defer { try? FileManager.default.removeItem(at: root) }
        var images: [InspectionImage] = []
        for i in 0..<3 {
            let url = root.appendingPathComponent("\(i).png")
            try SyntheticInspection.write(url, size: 32, channels: 3, pixels: SyntheticInspection.pixels(size: 32, channels: 3, seed: i))
            images.append(InspectionImage(path: url.path))
        }
        let store = InspectionImageStore(images, preprocessing: .texture(channels: 3, size: 32, patchSize: 16))
        let samples = InspectionTrainingSamples(store, count: 10, seed: 7)
        #expect(samples.sampleShape == [3, 16, 16])
        #expect(samples.groups == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
        let a = try samples.batch([0, 4, 9]).scalars
        #expect(try samples.batch([0, 4, 9]).scalars == a)
        #expect(try InspectionTrainingSamples(store, count: 10, seed: 8).batch([0, 4, 9]).scalars != a)
        #expect(a.allSatisfy { (-1...1).contains($0) })
    }

    @Test func masksAreResizedBinaryAndMustMatchTheirImage() throws {
        let root = try makeTemporaryDirectory("masks")
        defer { try? FileManager.default.removeItem(at: root) }
        try SyntheticInspection.writeMVTecCategory(root: root, category: "tile", size: 24, channels: 1)
        let split = try InspectionLayout.mvtec(root: root.path, category: "tile")
        let store = InspectionImageStore(split.test, preprocessing: InspectionPreprocessing(channels: 1, imageSize: 12))
        let defective = try #require(split.test.firstIndex { $0.isAnomalous })
        let loaded = try store.mask(at: defective)
        let mask = try #require(loaded)
        #expect(mask.count == 144 && Set(mask).isSubset(of: [0, 1]) && mask.contains(1))
        let normal = try #require(split.test.firstIndex { !$0.isAnomalous })
        #expect(try store.mask(at: normal) == [UInt8](repeating: 0, count: 144))
        #expect(store.problems().isEmpty)
        // A mask of another size is refused, naming both files.
        let maskPath = try #require(split.test[defective].mask)
        try SyntheticInspection.write(URL(fileURLWithPath: maskPath), size: 20, channels: 1, pixels: [UInt8](repeating: 0, count: 400))
        let fresh = InspectionImageStore(split.test, preprocessing: InspectionPreprocessing(channels: 1, imageSize: 12))
        #expect { try fresh.mask(at: defective) } throws: { "\($0)".contains("20x20") && "\($0)".contains(split.test[defective].path) }
        #expect(fresh.problems().map(\.index) == [defective])
    }

    @Test func badFilesAreFoundBeforeTraining() throws {
        let root = try makeTemporaryDirectory("bad-files")
        defer { try? FileManager.default.removeItem(at: root) }
        let good = root.appendingPathComponent("good.png"), truncated = root.appendingPathComponent("cut.png")
        let small = root.appendingPathComponent("small.png")
        let bytes = makePNG(width: 32, height: 32, channels: 1, pixels: [UInt8](repeating: 9, count: 1024))
        try writeBytes(bytes, to: good)
        try writeBytes(Array(bytes.prefix(bytes.count / 2)), to: truncated)
        try writeBytes(makePNG(width: 8, height: 8, channels: 1, pixels: [UInt8](repeating: 9, count: 64)), to: small)
        let store = InspectionImageStore([good, truncated, small].map { InspectionImage(path: $0.path) },
                                         preprocessing: InspectionPreprocessing(channels: 1, imageSize: 32, patchSize: 16))
        let problems = store.problems()
        #expect(problems.map(\.index) == [1, 2])
        #expect(problems[0].message.contains("cut.png"))
        #expect(problems[1].message.contains("small.png") && problems[1].message.contains("smaller than the 16-pixel patches"))
    }
}
