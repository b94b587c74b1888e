import Foundation
import MOCCACore

/// One image of an industrial-inspection data set: its file, its defect type (nil when it
/// is defect-free) and, where the data set has one, its pixel mask.
public struct InspectionImage: Codable, Sendable, Equatable {
    /// The image file.
    public var path: String
    /// The defect type (`crack`, `broken_large`, ...), or nil for a defect-free image.
    public var defect: String?
    /// The ground-truth mask (non-zero pixels are defective), if the data set has one.
    public var mask: String?
    /// The object the image shows, where a data set photographs one object several times
    /// (MTD's tiles): images of one group are not independent samples, and the AUROC's
    /// confidence interval counts groups rather than images. Nil: an image of its own.
    public var group: String?

    /// An image from its parts.
    public init(path: String, defect: String? = nil, mask: String? = nil, group: String? = nil) {
        self.path = path
        self.defect = defect
        self.mask = mask
        self.group = group
    }

    /// Whether the image shows a defect.
    public var isAnomalous: Bool { defect != nil }
    /// 0 for defect-free, 1 for defective: the evaluation's label.
    public var label: Int { isAnomalous ? 1 : 0 }
    /// The defect type, or `good`.
    public var defectName: String { defect ?? "good" }

    /// One id per image, shared by the images of one ``group``, for
    /// `DetectionMetrics(scores:labels:groups:)`; nil when no image has a group.
    public static func groupIDs(_ images: [InspectionImage]) -> [Int]? {
        guard images.contains(where: { $0.group != nil }) else { return nil }
        var ids: [String: Int] = [:]
        return images.enumerated().map { index, image in
            // An image without a group is one of its own; its key cannot clash with a group's.
            let key = image.group.map { "group:" + $0 } ?? "image:\(index)"
            if let id = ids[key] { return id }
            ids[key] = ids.count
            return ids.count - 1
        }
    }
}

/// An inspection data set split for training, validation and test.
///
/// Training holds defect-free images only. Every option (tap score, sizes, epochs) is
/// chosen on ``validation``; ``test`` is evaluated once, for the chosen options.
public struct InspectionSplit: Codable, Sendable, Equatable {
    /// What was read (`mvtec:bottle`, `mtd`, `folder`), for reports.
    public var name: String
    /// Defect-free training images.
    public var train: [InspectionImage]
    /// Images to choose options on (empty where the layout defines none, as MVTec AD).
    public var validation: [InspectionImage]
    /// Images to report on.
    public var test: [InspectionImage]

    /// A split from its parts.
    public init(name: String, train: [InspectionImage], validation: [InspectionImage] = [], test: [InspectionImage]) {
        self.name = name
        self.train = train
        self.validation = validation
        self.test = test
    }

    /// Whether any image of the split has a mask: without masks, only image-level metrics exist.
    public var hasMasks: Bool { (validation + test).contains { $0.mask != nil } }

    /// The defect types present, sorted.
    public var defectTypes: [String] { Set((validation + test).compactMap(\.defect)).sorted() }
}

/// The fractions of the seeded split used where a layout has no official one (MTD, plain
/// folders): 70% of the defect-free images train, 10% validate, 20% test; 30% of each
/// defect type validates and 70% tests.
///
/// Defect types are split separately, so every type appears in validation and test in
/// proportion. Files are sorted before the seeded shuffle, so the split depends only on
/// the file names and the seed.
public struct SeededSplitRule: Codable, Sendable, Equatable {
    /// The share of defect-free images trained on.
    public var trainFraction: Double = 0.7
    /// The share of defect-free images in validation.
    public var normalValidationFraction: Double = 0.1
    /// The share of each defect type in validation.
    public var defectValidationFraction: Double = 0.3

    /// The documented rule.
    public init() {}

    /// Splits `normal` and the defective images by type, seeded.
    ///
    /// `grouping` gathers the photos of one object (``InspectionLayout/mtdTiles(_:)``), which
    /// then land in the same part: whole groups are shuffled and dealt until each part holds
    /// its share of images. Without it, each image is its own group, which deals exactly the
    /// shares of images.
    func split(name: String, normal: [InspectionImage], defective: [String: [InspectionImage]], seed: UInt64,
               grouping: (([InspectionImage]) -> [[InspectionImage]])? = nil) -> InspectionSplit {
        var generator = RandomGenerator(seed: seed)
        func shuffled(_ images: [InspectionImage]) -> [[InspectionImage]] {
            let sorted = images.sorted { $0.path < $1.path }
            let groups = grouping?(sorted) ?? sorted.map { [$0] }
            return generator.permutation(groups.count).map { groups[$0] }
        }
        func count(_ fraction: Double, of n: Int) -> Int { min(n, Int((fraction * Double(n)).rounded())) }
        /// The first groups that hold at least `target` images, and the rest.
        func deal(_ groups: ArraySlice<[InspectionImage]>, target: Int) -> ([InspectionImage], ArraySlice<[InspectionImage]>) {
            var taken: [InspectionImage] = [], rest = groups
            while taken.count < target, let group = rest.first {
                taken += group
                rest = rest.dropFirst()
            }
            return (taken, rest)
        }

        let normals = shuffled(normal)
        let normalCount = normal.count
        let trainCount = count(trainFraction, of: normalCount)
        let validationCount = min(normalCount - trainCount, count(normalValidationFraction, of: normalCount))
        let (train, afterTrain) = deal(normals[...], target: trainCount)
        let (normalValidation, normalTest) = deal(afterTrain, target: validationCount)
        var validation = normalValidation, test = normalTest.flatMap { $0 }
        for type in defective.keys.sorted() {
            let images = defective[type] ?? []
            let (held, rest) = deal(shuffled(images)[...], target: count(defectValidationFraction, of: images.count))
            validation += held
            test += rest.flatMap { $0 }
        }
        return InspectionSplit(name: name, train: train, validation: validation, test: test)
    }
}

/// Where an inspection detector's data came from and how it was cut, stored with the
/// detector so that `evaluate`, `score` and `report` read images exactly as training did.
public struct InspectionDataDescription: Codable, Sendable, Equatable {
    /// The folders read.
    public struct Source: Codable, Sendable, Equatable {
        /// The layout: `mvtec`, `mtd` or `folder`.
        public var layout: String
        /// The folder read (the MVTec AD root, the MTD root, or the defect-free folder).
        public var path: String
        /// The MVTec AD category.
        public var category: String?
        /// The plain layout's defective images and masks.
        public var abnormal: String?, masks: String?

        /// A source from its parts.
        public init(layout: String, path: String, category: String? = nil, abnormal: String? = nil, masks: String? = nil) {
            self.layout = layout
            self.path = path
            self.category = category
            self.abnormal = abnormal
            self.masks = masks
        }
    }

    /// The folders read.
    public var source: Source
    /// The seed of the split.
    public var splitSeed: UInt64
    /// Whether the split keeps the photos of one tile together (MTD,
    /// ``InspectionLayout/mtdTiles(_:)``). False for detectors written before it did, whose
    /// split is read as they were trained.
    public var splitByTile: Bool
    /// How images became samples.
    public var preprocessing: InspectionPreprocessing

    /// A description from its parts; MTD's split by tile unless `splitByTile` says otherwise.
    public init(source: Source, splitSeed: UInt64, preprocessing: InspectionPreprocessing, splitByTile: Bool? = nil) {
        self.source = source
        self.splitSeed = splitSeed
        self.preprocessing = preprocessing
        self.splitByTile = splitByTile ?? (source.layout == "mtd")
    }

    /// Decodes a description; one without ``splitByTile`` (written before MTD's split kept
    /// tiles together) reads its split photo by photo, as it was trained.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(Source.self, forKey: .source)
        splitSeed = try c.decode(UInt64.self, forKey: .splitSeed)
        preprocessing = try c.decode(InspectionPreprocessing.self, forKey: .preprocessing)
        splitByTile = try c.decodeIfPresent(Bool.self, forKey: .splitByTile) ?? false
    }

    /// Reads the split again.
    /// - Throws: ``DataError`` as the layout readers do, or for an unknown layout.
    public func split(requireTest: Bool = true) throws -> InspectionSplit {
        switch source.layout {
        case "mvtec": return try InspectionLayout.mvtec(root: source.path, category: source.category ?? "", seed: splitSeed, requireTest: requireTest)
        case "mtd": return try InspectionLayout.mtd(root: source.path, seed: splitSeed, byTile: splitByTile)
        case "folder": return try InspectionLayout.folder(normal: source.path, abnormal: source.abnormal, masks: source.masks, seed: splitSeed)
        default: throw DataError.malformed(path: source.path, message: "unknown inspection layout '\(source.layout)' (expected mvtec, mtd or folder)")
        }
    }
}

/// Readers for the folder layouts of industrial-inspection data sets.
public enum InspectionLayout {
    /// The rotation-invariant MVTec AD categories, which the official code augments with
    /// random rotations.
    public static let rotationInvariantCategories: Set<String> = ["bottle", "hazelnut", "metal_nut", "screw"]
    /// The MVTec AD texture categories, trained on patches.
    public static let textureCategories: Set<String> = ["carpet", "grid", "leather", "tile", "wood"]

    /// Reads one category of the MVTec AD layout:
    /// `<root>/<category>/train/good/*.png`, `<root>/<category>/test/{good,<defect>}/*.png` and,
    /// optionally, `<root>/<category>/ground_truth/<defect>/<name>_mask.png`.
    ///
    /// MVTec AD has no validation split and no defective images outside `test/`: a seeded
    /// `validationFraction` of `train/good` is held out as defect-free validation images (to
    /// set the threshold), and other options are chosen by a rule fixed beforehand.
    /// - Parameter requireTest: whether a category without `test/` is an error (training
    ///   alone does not need one).
    /// - Throws: ``DataError`` naming the folder: a missing category (with the ones
    ///   present), an empty `train/good`, a missing `test/` when required, or a defect
    ///   image without its mask when `ground_truth/` exists.
    public static func mvtec(root: String, category: String, seed: UInt64 = 0, validationFraction: Double = 0.1,
                             requireTest: Bool = true) throws -> InspectionSplit {
        let folder = join(root, category)
        guard isDirectory(join(folder, "train")) else {
            let present = (try? ImageFolder.subfolders(of: root).filter { isDirectory(join(root, $0, "train")) }) ?? []
            throw DataError.missing(path: join(folder, "train"), expected: "an MVTec AD category <root>/<category>/train/good"
                                    + (present.isEmpty ? "" : "; categories here: \(present.joined(separator: ", "))"))
        }
        var rule = SeededSplitRule()
        (rule.trainFraction, rule.normalValidationFraction) = (1 - validationFraction, validationFraction)
        let good = try images(in: join(folder, "train", "good"), expected: "the defect-free training images train/good/*.png")
            .map { InspectionImage(path: $0) }
        let held = rule.split(name: "mvtec:\(category)", normal: good, defective: [:], seed: seed)
        let (train, validation) = (held.train, held.validation)
        let testFolder = join(folder, "test")
        guard isDirectory(testFolder) else {
            if requireTest { throw DataError.missing(path: testFolder, expected: "the test images test/{good,<defect>}/*.png of category \(category)") }
            return InspectionSplit(name: "mvtec:\(category)", train: train, validation: validation, test: [])
        }
        let truth = join(folder, "ground_truth")
        let hasMasks = isDirectory(truth)
        var test: [InspectionImage] = []
        for type in try ImageFolder.subfolders(of: testFolder) {
            for path in try ImageFolder.imageFiles(in: join(testFolder, type)) {
                guard type != "good" else { test.append(InspectionImage(path: path)); continue }
                var mask: String?
                if hasMasks {
                    let candidate = join(truth, type, stem(of: path) + "_mask.png")
                    guard FileManager.default.fileExists(atPath: candidate) else {
                        throw DataError.missing(path: candidate, expected: "the mask of \(path) (ground_truth/ exists, so every defect image needs one)")
                    }
                    mask = candidate
                }
                test.append(InspectionImage(path: path, defect: type, mask: mask))
            }
        }
        guard !test.isEmpty || !requireTest else {
            throw DataError.emptyClass("test", path: testFolder)
        }
        return InspectionSplit(name: "mvtec:\(category)", train: train, validation: validation, test: test)
    }

    /// Reads the Magnetic Tile Defect layout: `MT_Free/Imgs/*.jpg` are defect-free,
    /// `MT_<Defect>/Imgs/*.jpg` defective, each with a same-named `.png` mask, and splits
    /// it by ``SeededSplitRule`` (MTD has no official split).
    ///
    /// With `byTile` (the default), the photos of one tile (``mtdTiles(_:)``) stay in one
    /// part. MTD photographs each tile under up to six lightings; split photo by photo, a
    /// test tile's other photos are in training, and a nearest-neighbour score recognises
    /// the tile rather than judging its surface (on seed 0 with whole 32-px images, its
    /// validation AUROC fell from 0.93 with the nearest to 0.68 with the fifth-nearest
    /// training image, as a tile has at most five other photos).
    /// - Throws: ``DataError`` naming the folder for a missing `MT_Free/Imgs`, no defect
    ///   folders, or a defect image without its mask.
    public static func mtd(root: String, seed: UInt64, rule: SeededSplitRule = SeededSplitRule(), byTile: Bool = true) throws -> InspectionSplit {
        let freeFolder = join(root, "MT_Free", "Imgs")
        let normal = try images(in: freeFolder, expected: "the defect-free tiles MT_Free/Imgs/*.jpg of the Magnetic Tile Defect layout", extensions: ["jpg", "jpeg"])
            .map { InspectionImage(path: $0) }
        var defective: [String: [InspectionImage]] = [:]
        for folder in try ImageFolder.subfolders(of: root) where folder.hasPrefix("MT_") && folder != "MT_Free" {
            let type = String(folder.dropFirst(3)).lowercased()
            defective[type] = try images(in: join(root, folder, "Imgs"), expected: "the \(type) tiles \(folder)/Imgs/*.jpg", extensions: ["jpg", "jpeg"])
                .map { path in
                    let mask = join((path as NSString).deletingLastPathComponent, stem(of: path) + ".png")
                    guard FileManager.default.fileExists(atPath: mask) else {
                        throw DataError.missing(path: mask, expected: "the mask of \(path)")
                    }
                    return InspectionImage(path: path, defect: type, mask: mask)
                }
        }
        guard !defective.isEmpty else {
            throw DataError.wrongLayout(path: root, expected: "MT_Free/Imgs and at least one MT_<Defect>/Imgs folder")
        }
        return rule.split(name: "mtd", normal: namingTiles(normal), defective: defective.mapValues(namingTiles),
                          seed: seed, grouping: byTile ? mtdTiles : nil)
    }

    /// `images` with the ``InspectionImage/group`` of each photo of a tile of several
    /// (``mtdTiles(_:)``) set to the tile, named by its first photo: `MT_Free/exp1_num_304293`.
    static func namingTiles(_ images: [InspectionImage]) -> [InspectionImage] {
        mtdTiles(images).flatMap { tile in
            guard tile.count > 1 else { return tile }
            let folder = ((tile[0].path as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
            let name = (folder as NSString).lastPathComponent + "/" + stem(of: tile[0].path)
            return tile.map { var image = $0; image.group = name; return image }
        }
    }

    /// MTD's photos gathered by tile. Files are named `exp<L>_num_<N>.jpg`: `L` the lighting
    /// (1 to 6, and 0) and `N` the capture number. In capture order, the photos of one tile
    /// come in rising lighting order, so a tile ends where the lighting does not rise. A file
    /// not named so is a tile of its own. Tiles are returned in the order of their first
    /// photo's path; each tile's photos in capture order.
    public static func mtdTiles(_ images: [InspectionImage]) -> [[InspectionImage]] {
        func parsed(_ image: InspectionImage) -> (lighting: Int, number: Int)? {
            let parts = stem(of: image.path).split(separator: "_")
            guard parts.count == 3, parts[0].hasPrefix("exp"), parts[1] == "num",
                  let lighting = Int(parts[0].dropFirst(3)), let number = Int(parts[2]) else { return nil }
            return (lighting, number)
        }
        var named: [(image: InspectionImage, lighting: Int, number: Int)] = [], tiles: [[InspectionImage]] = []
        for image in images {
            if let (lighting, number) = parsed(image) { named.append((image, lighting, number)) } else { tiles.append([image]) }
        }
        named.sort { ($0.number, $0.image.path) < ($1.number, $1.image.path) }
        var previous = Int.max
        for photo in named {
            if photo.lighting <= previous { tiles.append([]) }
            tiles[tiles.count - 1].append(photo.image)
            previous = photo.lighting
        }
        return tiles.sorted { $0[0].path < $1[0].path }
    }

    /// Reads a plain folder layout, as anomalib's `Folder` data set: a folder of
    /// defect-free images, optionally a folder of defective ones (its sub-folders, if any,
    /// are the defect types; images directly in it are of type `abnormal`) and a folder of
    /// masks (`<name>.png` or `<name>_mask.png`, in the defect type's sub-folder or at its
    /// top), split by ``SeededSplitRule``.
    /// - Throws: ``DataError`` naming the folder for a missing or empty normal folder, or
    ///   a defective image without a mask when a mask folder is given.
    public static func folder(normal: String, abnormal: String? = nil, masks: String? = nil, seed: UInt64,
                              rule: SeededSplitRule = SeededSplitRule()) throws -> InspectionSplit {
        let normals = try images(in: normal, expected: "the defect-free images").map { InspectionImage(path: $0) }
        var defective: [String: [InspectionImage]] = [:]
        if let abnormal {
            var byType: [String: [String]] = ["abnormal": try ImageFolder.imageFiles(in: abnormal)]
            for type in try ImageFolder.subfolders(of: abnormal) { byType[type] = try ImageFolder.imageFiles(in: join(abnormal, type)) }
            for (type, paths) in byType where !paths.isEmpty {
                defective[type] = try paths.map { path in
                    InspectionImage(path: path, defect: type, mask: try masks.map { try mask(of: path, type: type, in: $0) })
                }
            }
            guard !defective.isEmpty else { throw DataError.emptyClass("abnormal", path: abnormal) }
        }
        return rule.split(name: "folder", normal: normals, defective: defective, seed: seed)
    }

    private static func mask(of path: String, type: String, in folder: String) throws -> String {
        let name = stem(of: path)
        let candidates = [join(folder, type, name + ".png"), join(folder, type, name + "_mask.png"),
                          join(folder, name + ".png"), join(folder, name + "_mask.png")]
        guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
            throw DataError.missing(path: candidates[0], expected: "the mask of \(path) (looked for \(candidates.joined(separator: ", ")))")
        }
        return found
    }

    /// The image files directly in `folder`, which must exist and hold some.
    private static func images(in folder: String, expected: String, extensions: Set<String> = ImageFolder.extensions) throws -> [String] {
        guard isDirectory(folder) else { throw DataError.missing(path: folder, expected: expected) }
        let files = try ImageFolder.imageFiles(in: folder).filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
        guard !files.isEmpty else { throw DataError.emptyClass((folder as NSString).lastPathComponent, path: folder) }
        return files
    }

    private static func stem(of path: String) -> String { ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
    private static func join(_ parts: String...) -> String { parts.dropFirst().reduce(parts[0]) { ($0 as NSString).appendingPathComponent($1) } }
    private static func isDirectory(_ path: String) -> Bool {
        var flag: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &flag) && flag.boolValue
    }
}
