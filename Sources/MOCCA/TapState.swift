import MOCCACore

/// What a fitted detector knows about one tap: its centroid and radius from the
/// one-class phase, and the scorer that turns the tap's vectors into scores.
public struct TapState {
    /// The tap's name (`conv1`, `code`, ...).
    public let name: String
    /// The mean representation of the normal training samples after pre-training, with
    /// Deep SVDD's ε-rule: what the one-class phase pulls the tap towards.
    public internal(set) var centroid: Tensor
    /// The soft boundary's radius (zero for a hard boundary).
    public internal(set) var radius: Float
    /// Scores the tap's vectors; set when fitting finishes.
    public internal(set) var scorer: (any TapScorer)?

    /// A tap with a centroid and no radius yet.
    init(name: String, centroid: Tensor) {
        self.name = name
        self.centroid = centroid
        self.radius = 0
    }
}

/// Turns one tap's vectors into one score per sample (higher is more anomalous).
///
/// A scorer fits itself to its tap after the one-class phase, and saves and reads back
/// its own tensors, so that a new way to score a tap touches only its own type and the
/// ``MOCCAConfiguration/TapScore`` case that names it.
public protocol TapScorer {
    /// Whether fitting needs the tap's representations of every normal training sample.
    static var needsTrainingRepresentations: Bool { get }
    /// The names of the tensors the scorer saves (unique within a tap).
    static var tensorNames: [String] { get }
    /// Fits the scorer to a trained tap; `representations` are the training samples'
    /// vectors `[N, D]` when ``needsTrainingRepresentations``.
    init(fitting tap: TapState, representations: Tensor?, configuration: MOCCAConfiguration) throws
    /// Reads a scorer back from the tensors it saved, keyed as ``tensorNames``.
    /// - Throws: a message saying which tensor is missing or misshapen.
    init(loading tensors: [String: Tensor], tap: TapState, configuration: MOCCAConfiguration) throws
    /// The tensors to save, keyed by ``tensorNames``.
    var tensors: [String: Tensor] { get }
    /// The scores of vectors `[B, D]`. With `trainingOffset`, the vectors are rows
    /// `trainingOffset...` of the training set itself, and none may count as its own neighbour.
    func score(_ vectors: Tensor, trainingOffset: Int?) throws -> [Float]
}

extension MOCCAConfiguration.TapScore {
    /// The scorer type this option names.
    public var scorerType: any TapScorer.Type {
        switch self {
        case .centroid, .centroidEuclidean: return CentroidScorer.self
        case .nearestNeighbor: return NearestNeighborScorer.self
        }
    }
}

/// The paper's tap score: the squared distance to the tap's centroid, `d` (hard boundary)
/// or `d − R²` (soft); or, as the official MVTec AD code scores, the distance itself, `√d`
/// or `√d − R`.
public struct CentroidScorer: TapScorer {
    /// The centroid and radius live in the tap's state: nothing more is needed.
    public static let needsTrainingRepresentations = false
    /// Nothing of its own to save.
    public static let tensorNames: [String] = []
    let centroid: Tensor
    let radius: Float
    let boundary: MOCCAConfiguration.Boundary
    let squared: Bool

    /// Scores against the tap's centroid and radius.
    public init(fitting tap: TapState, representations: Tensor?, configuration: MOCCAConfiguration) {
        centroid = tap.centroid
        radius = tap.radius
        boundary = configuration.boundary
        squared = configuration.tapScore != .centroidEuclidean
    }

    /// As ``init(fitting:representations:configuration:)``: the tap's state is all it needs.
    public init(loading tensors: [String: Tensor], tap: TapState, configuration: MOCCAConfiguration) {
        self.init(fitting: tap, representations: nil, configuration: configuration)
    }

    /// None.
    public var tensors: [String: Tensor] { [:] }

    /// `d` or `d − R²` per row (squared), `√d` or `√d − R` (unsquared).
    public func score(_ vectors: Tensor, trainingOffset: Int?) throws -> [Float] {
        let distances = try vectors.squaredDistance(to: centroid).scalars
        guard !squared else { return OneClassObjective.score(distances: distances, boundary: boundary, radius: radius) }
        return distances.map { $0.squareRoot() - (boundary == .soft ? radius : 0) }
    }
}
