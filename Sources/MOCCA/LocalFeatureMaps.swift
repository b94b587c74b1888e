import MOCCACore
import MOCCAData

/// Options of a detector's local feature maps (see ``LocalFeatureMemory``).
public struct LocalMapOptions: Codable, Sendable, Equatable {
    /// The feature-map tap whose locations are scored (`o2` of `mvtec-resnet`, say).
    public var tap: String
    /// Training locations kept as references: a farthest-point coreset.
    public var references: Int
    /// Locations drawn from each training image before the coreset, which bounds its cost
    /// (`N · references · C` multiply-adds) and the memory held while it is chosen.
    public var locationsPerImage: Int

    /// Options for `tap`, with 4,096 references drawn from 256 locations per image.
    public init(tap: String, references: Int = 4096, locationsPerImage: Int = 256) {
        self.tap = tap
        self.references = references
        self.locationsPerImage = locationsPerImage
    }

    /// Throws ``MOCCAError/invalidConfiguration(_:)`` unless `tap` is one of `taps` and the counts are usable.
    func validate(availableTaps taps: [String]) throws {
        guard taps.contains(tap) else {
            throw MOCCAError.invalidConfiguration("local maps: unknown tap '\(tap)'; the network has \(taps.joined(separator: ", "))")
        }
        guard references > 1 else { throw MOCCAError.invalidConfiguration("local maps: keep at least 2 references, got \(references)") }
        guard locationsPerImage > 0 else {
            throw MOCCAError.invalidConfiguration("local maps: draw at least 1 location per image, got \(locationsPerImage)")
        }
    }
}

/// Beyond the paper: anomaly maps for a detector that scores whole images.
///
/// Every location of one feature-map tap (`[C, h, w]` per image) is a `C`-vector that
/// describes the neighbourhood its receptive field sees. The memory keeps such vectors from
/// the defect-free training images, standardised per channel and thinned to a
/// farthest-point coreset, and scores each location of a new image by its distance to the
/// nearest one, as PatchCore does with pretrained features. A location unlike any normal
/// one, a crack or a blowhole, stands out at its place, so the map localises; its maximum is
/// also an image score.
///
/// Patch scoring (``InspectionPreprocessing/patchSize``) localises only to the patch grid
/// and sees each patch apart from the whole image; these maps come from one forward pass
/// over the whole image at the tap's resolution.
public struct LocalFeatureMemory {
    /// The options it was fitted with.
    public let options: LocalMapOptions
    /// The nearest-neighbour search over the standardised reference locations.
    let scorer: NearestNeighborScorer

    /// The weights-file names of its tensors (under `mocca.local.`).
    static let tensorNames = NearestNeighborScorer.tensorNames

    /// Fits the search on training location vectors `rows` (`[N, C]`): standardised and
    /// thinned to ``LocalMapOptions/references`` by a farthest-point coreset seeded by
    /// `configuration`'s seed.
    init(fitting rows: Tensor, options: LocalMapOptions, configuration: MOCCAConfiguration) throws {
        var search = Self.search(configuration)
        search.referenceLimit = options.references
        self.options = options
        scorer = try NearestNeighborScorer(fitting: Self.state(options, width: rows.shape[1]), representations: rows, configuration: search)
    }

    /// Reads the tensors back (named as ``tensorNames``); throws where they are missing or
    /// their shapes disagree.
    init(loading tensors: [String: Tensor], options: LocalMapOptions, configuration: MOCCAConfiguration) throws {
        guard let width = tensors["references"].flatMap({ $0.rank == 2 ? $0.shape[1] : nil }) else {
            throw MOCCAError.invalidData("the local maps' references are missing")
        }
        self.options = options
        scorer = try NearestNeighborScorer(loading: tensors, tap: Self.state(options, width: width), configuration: Self.search(configuration))
    }

    /// The nearest-neighbour search's options: the detector's, with the nearest neighbour.
    private static func search(_ configuration: MOCCAConfiguration) -> MOCCAConfiguration {
        var search = configuration
        search.neighbors = 1
        return search
    }

    /// The tap state the search is fitted for: the tap's name, for its messages.
    private static func state(_ options: LocalMapOptions, width: Int) -> TapState {
        TapState(name: options.tap, centroid: Tensor(zeros: [width]))
    }

    /// The channels of a location vector.
    public var channels: Int { scorer.references.shape[1] }
    /// The reference locations kept.
    public var referenceCount: Int { scorer.references.shape[0] }
}

/// Per-location scores of a batch of images: `height × width` values per image, image-major.
public struct LocalMaps: Sendable {
    /// The map's size: the tap's, or the image's where patch maps were assembled.
    public var height: Int, width: Int
    /// Every location's distance to its nearest reference, image by image, row-major.
    public var values: [Float]
    /// The side of one tap location in map cells: 1, or more where patch maps were
    /// assembled at pixel resolution.
    public var footprint: Double = 1

    /// Maps of `height × width` locations, image by image.
    public init(height: Int, width: Int, values: [Float], footprint: Double = 1) {
        (self.height, self.width, self.values, self.footprint) = (height, width, values, footprint)
    }

    /// The images held.
    public var imageCount: Int { values.count / max(height * width, 1) }

    /// Image `index`'s map.
    public func map(ofImage index: Int) -> ArraySlice<Float> {
        values[(index * height * width)..<((index + 1) * height * width)]
    }

    /// Each image's highest location score: the map's image-level score.
    public var imageScores: [Float] { (0..<imageCount).map { map(ofImage: $0).max() ?? -.infinity } }

    /// Image `index`'s map at `side × side` pixels: resized bilinearly, then smoothed by a
    /// Gaussian of half a location's footprint, which blurs the blocks a location cell
    /// leaves (the scale the map cannot resolve).
    public func map(ofImage index: Int, side: Int) throws -> [Float] {
        let resized = width == side && height == side ? Array(map(ofImage: index))
            : try HeatMap.resize(Array(map(ofImage: index)), width: width, height: height, toWidth: side, toHeight: side)
        return try HeatMap.smooth(resized, width: side, height: side, sigma: footprint * Double(side) / Double(2 * max(height, width)))
    }

    /// The maps of `patches`' patches (one map per patch, in their order) placed back on
    /// their images: each resized to the patch's pixels and put at its origin, a pixel
    /// taking the mean of the patches covering it, on an image of at most
    /// ``AnomalyMap/maximumMetricSide`` pixels.
    public func assembled(on patches: InspectionPatches) throws -> LocalMaps {
        let p = patches.store.preprocessing
        let scale = min(1, Double(AnomalyMap.maximumMetricSide) / Double(p.imageSize))
        let side = Int((Double(p.imageSize) * scale).rounded()), patchSide = max(1, Int((Double(p.sampleSide) * scale).rounded()))
        let origins = patches.origins.map { (y: min(side - patchSide, Int((Double($0.y) * scale).rounded())),
                                             x: min(side - patchSide, Int((Double($0.x) * scale).rounded()))) }
        var out = LocalMaps(height: side, width: side, values: [], footprint: Double(patchSide) / Double(max(height, width)))
        out.values.reserveCapacity(patches.imageCount * side * side)
        for image in 0..<patches.imageCount {
            let resized = try origins.indices.map { k in
                try HeatMap.resize(Array(map(ofImage: image * patches.patchesPerImage + k)), width: width, height: height,
                                   toWidth: patchSide, toHeight: patchSide)
            }
            out.values += AnomalyMap.averagingOverlaps(origins: origins, patchSize: patchSide, side: side) { k, y, x in
                resized[k][y * patchSide + x]
            }
        }
        return out
    }
}

extension MOCCADetector {
    /// Locations drawn for the local maps' coreset at most, over all samples.
    static let localMapDraws = 100_000

    /// Fits the local feature maps (``MOCCAConfiguration/localMaps``) on defect-free
    /// samples: up to ``LocalMapOptions/locationsPerImage`` seeded random locations of each
    /// sample's tap map (fewer where there are more than 100,000 in all), then a
    /// farthest-point coreset of ``LocalMapOptions/references``. Without that option it does
    /// nothing.
    /// - Throws: ``MOCCAError/invalidConfiguration(_:)`` when the tap is not a feature map,
    ///   and what scoring throws.
    public func fitLocalMaps(on samples: any SampleSource) throws {
        guard let options = configuration.localMaps else { return }
        var generator = RandomGenerator(seed: configuration.seed &+ 0x10CA1)
        var rows: [Float] = [], channels = 0
        // At most `localMapDraws` locations in all: with thousands of patches, 256 each
        // would hold gigabytes and make the coreset's search quadratic in them.
        let perSample = min(options.locationsPerImage, max(1, Self.localMapDraws / max(samples.count, 1)))
        try forEachLocalBatch(samples, tap: options.tap) { _, locationRows, shape in
            let (batch, c, locations) = (shape[0], shape[1], shape[2] * shape[3])
            channels = c
            for image in 0..<batch {
                let drawn = locations <= perSample ? Array(0..<locations)
                    : Self.distinctDraws(perSample, below: locations, using: &generator)
                for location in drawn {
                    let row = (image * locations + location) * c
                    rows += locationRows[row..<(row + c)]
                }
            }
        }
        let representations = try Tensor(shape: [rows.count / max(channels, 1), channels], scalars: rows)
        localMemory = try LocalFeatureMemory(fitting: representations, options: options, configuration: configuration)
    }

    /// Each sample's local map: every location of the tap scored by its distance to the
    /// nearest reference location. Nil for a detector without local maps.
    /// - Throws: ``MOCCAError/nonFiniteScore(sample:channel:)`` naming the first sample with
    ///   a score that is not a number, and what scoring throws.
    public func localMaps(_ samples: any SampleSource) throws -> LocalMaps? {
        guard let memory = localMemory else { return nil }
        var maps = LocalMaps(height: 0, width: 0, values: [])
        try forEachLocalBatch(samples, tap: memory.options.tap) { indices, rows, shape in
            let (batch, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
            (maps.height, maps.width) = (h, w)
            let distances = try memory.scorer.score(Tensor(shape: [batch * h * w, c], scalars: rows), trainingOffset: nil)
            if let bad = distances.firstIndex(where: { !$0.isFinite }) {
                throw MOCCAError.nonFiniteScore(sample: samples.origin(of: indices[bad / (h * w)]), channel: "local map \(memory.options.tap)")
            }
            maps.values += distances
        }
        return maps
    }

    /// Calls `body` with each scoring batch's indices, the tap's output as location rows
    /// (`[B·h·w, C]`: row `b·h·w + l` is image `b`'s vector at location `l`, row-major), and
    /// the output's shape `[B, C, h, w]`, in evaluation mode and without gradients.
    private func forEachLocalBatch(_ samples: any SampleSource, tap: String, _ body: ([Int], [Float], [Int]) throws -> Void) throws {
        try forEachScoringBatch(samples) { indices, batch in
            guard let output = try network.tapOutputs(batch, taps: [tap]).first, output.rank == 4 else {
                throw Self.notAFeatureMap(tap, network: resolvedNetwork.specification.name)
            }
            let values = output.scalars
            let (n, c, locations) = (output.shape[0], output.shape[1], output.shape[2] * output.shape[3])
            var rows = [Float](repeating: 0, count: values.count)
            for image in 0..<n {
                for channel in 0..<c {
                    let plane = (image * c + channel) * locations
                    for location in 0..<locations { rows[(image * locations + location) * c + channel] = values[plane + location] }
                }
            }
            try body(indices, rows, output.shape)
        }
    }

    /// Throws ``MOCCAError/invalidConfiguration(_:)`` unless `tap`'s output is a feature map.
    func checkLocalMapTap(_ tap: String) throws {
        network.eval()
        defer { network.train() }
        let output = try withoutGradients { try network.tapOutputs(Tensor(zeros: [2] + network.inputShape), taps: [tap]).first }
        guard let output, output.rank == 4 else { throw Self.notAFeatureMap(tap, network: resolvedNetwork.specification.name) }
    }

    static func notAFeatureMap(_ tap: String, network: String) -> MOCCAError {
        .invalidConfiguration("local maps need a feature-map tap ([N, C, H, W]); \(tap) of the \(network) network is not one")
    }

    /// `count` distinct integers below `bound`, drawn uniformly (a partial Fisher–Yates shuffle).
    static func distinctDraws(_ count: Int, below bound: Int, using generator: inout RandomGenerator) -> [Int] {
        var pool = Array(0..<bound)
        for i in 0..<min(count, bound) { pool.swapAt(i, i + Int(generator.next() % UInt64(bound - i))) }
        return Array(pool.prefix(count))
    }
}
