import MOCCACore

/// Beyond the paper: a tap's score is the Euclidean distance to the k-th nearest
/// representation of the normal training samples, each coordinate first centred and
/// divided by its standard deviation over them.
///
/// The detector keeps the standardised representations (`[N, D]` per tap), or with
/// ``MOCCAConfiguration/referenceLimit`` a greedy farthest-point coreset of them (see
/// ``coreset(of:size:seed:)``). Centring keeps the distance arithmetic (one SGEMM with
/// norms) accurate: without it, cancellation moved conv1 AUROCs on CIFAR-10 by up to 0.019.
public struct NearestNeighborScorer: TapScorer {
    /// It searches the training representations.
    public static let needsTrainingRepresentations = true
    /// The standardised representations, and the means and scales that standardise.
    public static let tensorNames = ["references", "reference_means", "reference_scales"]
    /// The standardised training representations `[N, D]`.
    public let references: Tensor
    /// Each coordinate's mean over the training samples `[D]`.
    public let means: Tensor
    /// One over each coordinate's standard deviation `[D]`.
    public let scales: Tensor
    let k: Int
    /// Where each training sample's representation is among ``references`` (-1 where the
    /// coreset left it out), so that a training sample does not count as its own
    /// neighbour. Known only after fitting.
    let referenceOfTrainingSample: [Int]?

    /// Standardises and keeps the representations. A coordinate's deviation is floored at
    /// 1e-3 of the tap's mean deviation, so that one that barely varied in training cannot
    /// dominate.
    public init(fitting tap: TapState, representations: Tensor?, configuration: MOCCAConfiguration) throws {
        guard let representations, representations.rank == 2, representations.shape[0] > configuration.neighbors else {
            throw MOCCAError.invalidData("tap \(tap.name): the nearest-neighbour score with k = \(configuration.neighbors) needs more than \(configuration.neighbors) training representations")
        }
        let width = representations.shape[1]
        let values = representations.scalars
        var sum = [Double](repeating: 0, count: width), squares = sum
        for (i, value) in values.enumerated() {
            sum[i % width] += Double(value)
            squares[i % width] += Double(value) * Double(value)
        }
        let n = Double(representations.shape[0])
        let mean = sum.map { $0 / n }
        let deviation = zip(squares, mean).map { max(0, $0 / n - $1 * $1).squareRoot() }
        let floor = 1e-3 * deviation.reduce(0, +) / Double(max(width, 1))
        means = try Tensor(shape: [width], scalars: mean.map { Float($0) })
        scales = try Tensor(shape: [width], scalars: deviation.map { Float(1 / max($0, floor, 1e-12)) })
        let standardized = try Self.standardize(representations, mean: means, scale: scales)
        k = configuration.neighbors
        if let limit = configuration.referenceLimit, limit < standardized.shape[0] {
            let chosen = Self.coreset(of: standardized, size: limit, seed: configuration.seed)
            references = try standardized.gatheringRows(chosen)
            var position = [Int](repeating: -1, count: standardized.shape[0])
            for (slot, row) in chosen.enumerated() { position[row] = slot }
            referenceOfTrainingSample = position
        } else {
            references = standardized
            referenceOfTrainingSample = nil
        }
    }

    /// Reads the three tensors back, checking their shapes against the tap.
    public init(loading tensors: [String: Tensor], tap: TapState, configuration: MOCCAConfiguration) throws {
        let width = tap.centroid.count
        guard let references = tensors["references"], let means = tensors["reference_means"], let scales = tensors["reference_scales"],
              references.rank == 2, references.shape[0] > configuration.neighbors, references.shape[1] == width,
              means.shape == [width], scales.shape == [width] else {
            throw MOCCAError.invalidData("tap \(tap.name)'s nearest-neighbour references are missing, or their shapes do not fit its \(width) coordinates")
        }
        self.references = references
        self.means = means
        self.scales = scales
        k = configuration.neighbors
        referenceOfTrainingSample = nil
    }

    /// The references, means and scales.
    public var tensors: [String: Tensor] {
        ["references": references, "reference_means": means, "reference_scales": scales]
    }

    /// The distance of each standardised row to its k-th nearest reference (skipping the
    /// row itself for training rows).
    public func score(_ vectors: Tensor, trainingOffset: Int?) throws -> [Float] {
        let standardized = try Self.standardize(vectors, mean: means, scale: scales)
        guard let offset = trainingOffset else { return try standardized.nearestNeighborDistances(to: references, k: k).scalars }
        guard let positions = referenceOfTrainingSample else {
            return try standardized.nearestNeighborDistances(to: references, k: k, selfOffset: offset).scalars
        }
        let skipping = (0..<vectors.shape[0]).map { offset + $0 < positions.count ? positions[offset + $0] : -1 }
        return try standardized.nearestNeighborDistances(to: references, k: k, skipping: skipping).scalars
    }

    /// The rows of a greedy farthest-point coreset of `rows` `[N, D]`, in the order chosen:
    /// a seeded random first row, then each time the row farthest from those chosen.
    ///
    /// It covers the training representations evenly, keeping rare ones that uniform
    /// subsampling would drop, so that a rare normal patch still finds a near reference.
    /// Costs `N · size · D` multiply-adds.
    public static func coreset(of rows: Tensor, size: Int, seed: UInt64) -> [Int] {
        let (n, d) = (rows.shape[0], rows.shape[1])
        guard size < n else { return Array(0..<n) }
        let values = rows.scalars
        var generator = RandomGenerator(seed: seed &+ 0xC0E5)
        var chosen = [Int(generator.next() % UInt64(n))]
        var nearest = [Float](repeating: .infinity, count: n)
        chosen.reserveCapacity(size)
        values.withUnsafeBufferPointer { v in
            while chosen.count < size, let last = chosen.last {
                let base = last * d
                var farthest = 0, farthestDistance: Float = -1
                for i in 0..<n {
                    var distance: Float = 0
                    let row = i * d
                    for j in 0..<d { let delta = v[row + j] - v[base + j]; distance += delta * delta }
                    if distance < nearest[i] { nearest[i] = distance }
                    if nearest[i] > farthestDistance { farthestDistance = nearest[i]; farthest = i }
                }
                chosen.append(farthest)
            }
        }
        return chosen
    }

    /// `(rows − mean) · scale` per coordinate, for rows `[N, D]`.
    static func standardize(_ rows: Tensor, mean: Tensor, scale: Tensor) throws -> Tensor {
        let (m, s, width) = (mean.scalars, scale.scalars, rows.shape[1])
        return try Tensor(shape: rows.shape, scalars: rows.scalars.enumerated().map { ($0.element - m[$0.offset % width]) * s[$0.offset % width] })
    }
}
