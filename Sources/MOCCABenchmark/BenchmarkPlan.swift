import MOCCA

/// One run of the protocol: a detector trained on one normal class, from one seed, with
/// one boundary, and evaluated on the whole test set.
public struct BenchmarkRun: Hashable, Sendable, CustomStringConvertible {
    /// The class trained on as normal.
    public var normalClass: String
    /// The configuration's seed: initial weights and batch order.
    public var seed: UInt64
    /// The one-class boundary.
    public var boundary: MOCCAConfiguration.Boundary

    /// A run from its parts.
    public init(normalClass: String, seed: UInt64, boundary: MOCCAConfiguration.Boundary) {
        self.normalClass = normalClass
        self.seed = seed
        self.boundary = boundary
    }

    /// `class seed N boundary`, as progress lines name a run.
    public var description: String { "\(normalClass) seed \(seed) \(boundary.rawValue)" }
}

/// The runs of the paper's one-class protocol: every class × seed × boundary.
///
/// The runs of one (class, seed) share a pretrained autoencoder, so the plan hands them
/// out as ``Group``s. Groups come seed-major (every class for the first seed, then every
/// class for the next), so that an interrupted benchmark already covers every class once.
public struct BenchmarkPlan: Sendable, Equatable {
    /// The normal classes, by name, in table order.
    public let classes: [String]
    /// The seeds, in run order.
    public let seeds: [UInt64]
    /// The boundaries, in table order.
    public let boundaries: [MOCCAConfiguration.Boundary]

    /// The runs of one (class, seed): one pretraining, then one one-class phase per boundary.
    public struct Group: Hashable, Sendable {
        /// The class trained on as normal.
        public var normalClass: String
        /// The seed of the pretraining and of every run.
        public var seed: UInt64
        /// The boundaries, each a run.
        public var boundaries: [MOCCAConfiguration.Boundary]

        /// The group's runs, in boundary order.
        public var runs: [BenchmarkRun] { boundaries.map { BenchmarkRun(normalClass: normalClass, seed: seed, boundary: $0) } }
    }

    /// A plan of every class × seed × boundary.
    /// - Throws: ``BenchmarkError/invalidPlan(_:)`` when a list is empty (a benchmark of
    ///   nothing is a mistake, not a success) or names something twice.
    public init(classes: [String], seeds: [UInt64], boundaries: [MOCCAConfiguration.Boundary]) throws {
        func check<T: Hashable>(_ values: [T], _ what: String) throws {
            guard !values.isEmpty else { throw BenchmarkError.invalidPlan("no \(what) to run; name at least one") }
            var seen = Set<T>()
            for value in values where !seen.insert(value).inserted {
                throw BenchmarkError.invalidPlan("\(what) lists \(value) twice")
            }
        }
        try check(classes, "classes")
        try check(seeds, "seeds")
        try check(boundaries.map(\.rawValue), "boundaries")
        self.classes = classes
        self.seeds = seeds
        self.boundaries = boundaries
    }

    /// Every (class, seed), seed-major.
    public var groups: [Group] {
        seeds.flatMap { seed in classes.map { Group(normalClass: $0, seed: seed, boundaries: boundaries) } }
    }

    /// Every run, in the order they are trained.
    public var runs: [BenchmarkRun] { groups.flatMap(\.runs) }

    /// Class names from a selection: `nil` or `["all"]` for every class of `available`,
    /// else each item by name or by index.
    /// - Throws: `DataError.unknownClass` for an item that is neither.
    public static func classes(_ selection: [String]?, among available: [String]) throws -> [String] {
        guard let selection, selection != ["all"] else { return available }
        return try selection.map { available[try ImageDataset.classIndex($0, in: available)] }
    }
}
