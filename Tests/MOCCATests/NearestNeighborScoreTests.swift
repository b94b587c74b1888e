import Foundation
import MOCCA
import MOCCACore
import MOCCATestSupport
import Testing

/// The nearest-neighbour tap score (beyond the paper): each tap scores the distance to the
/// k-th nearest training representation, coordinates scaled by their training deviation.
@Suite("Nearest-neighbour tap score", .serialized)
struct NearestNeighborScoreTests {
    static func configuration(neighbors: Int = 1) -> MOCCAConfiguration {
        var configuration = DetectorTests.configuration(seed: 5)
        configuration.tapScore = .nearestNeighbor
        configuration.fusion = .standardized
        configuration.neighbors = neighbors
        return configuration
    }

    /// Each tap's fitted nearest-neighbour scorer.
    static func scorers(_ detector: MOCCADetector) -> [NearestNeighborScorer] {
        detector.taps.compactMap { $0.scorer as? NearestNeighborScorer }
    }

    @Test func referencesHoldEveryTrainingRepresentationStandardised() throws {
        let detector = try DetectorTests.fitted(Self.configuration())
        let train = DetectorTests.train
        let scorers = Self.scorers(detector)
        #expect(scorers.count == DetectorTests.taps.count)
        for (scorer, tap) in zip(scorers, detector.taps) {
            let reference = scorer.references, centroid = tap.centroid
            #expect(scorer.scales.shape == centroid.shape)
            #expect(reference.shape == [train.shape[0], centroid.shape[0]])
            // Each standardised coordinate has zero mean and unit (population) deviation over the training rows.
            let (rows, width) = (reference.shape[0], reference.shape[1]), values = reference.scalars
            for column in 0..<width {
                let entries: [Double] = (0..<rows).map { Double(values[$0 * width + column]) }
                let mean = entries.reduce(0, +) / Double(rows)
                let squares: [Double] = entries.map { ($0 - mean) * ($0 - mean) }
                let deviation = (squares.reduce(0, +) / Double(rows)).squareRoot()
                #expect(abs(mean) < 1e-3 && abs(deviation - 1) < 1e-3)
            }
        }
    }

    @Test func aTrainingImageIsItsOwnNearestNeighbourButNotInTheTrainingStatistics() throws {
        let detector = try DetectorTests.fitted(Self.configuration())
        let own = try detector.score(DetectorTests.train)
        // Scored afresh, every training image finds itself: distance zero up to rounding.
        let leftOut = detector.fusion.statistics.prefix(DetectorTests.taps.count)
        for (channel, statistics) in zip(own.perChannel, leftOut) {
            #expect(statistics.mean > 0)
            #expect(channel.allSatisfy { $0 < 1e-2 * statistics.mean })
        }
    }

    @Test func anomaliesScoreHigherThanNormalImages() throws {
        let detector = try DetectorTests.fitted(Self.configuration(neighbors: 3))
        let (images, labels) = DetectorTests.test
        let scores = try detector.score(images)
        #expect(try DetectionMetrics(scores: scores.overall, labels: labels).auroc > 0.9)
        // The detector fuses standardised channels: the overall score is their mean.
        let expected = detector.fuse(scores.perChannel, fusion: .standardized)
        #expect(zip(scores.overall, expected).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
    }

    @Test func aLargerKNeverLowersAScore() throws {
        let first = try DetectorTests.fitted(Self.configuration(neighbors: 1))
        let third = try DetectorTests.fitted(Self.configuration(neighbors: 3))
        let a = try first.score(DetectorTests.test.0).perChannel, b = try third.score(DetectorTests.test.0).perChannel
        // Same seed, same training: only the neighbour differs.
        for (x, y) in zip(a, b) { #expect(zip(x, y).allSatisfy { $0 <= $1 + 1e-5 }) }
    }

    @Test func saveThenLoadGivesIdenticalScores() throws {
        let directory = try makeTemporaryDirectory("detector-knn")
        defer { try? FileManager.default.removeItem(at: directory) }
        let detector = try DetectorTests.fitted(Self.configuration(neighbors: 2))
        let url = directory.appendingPathComponent("knn.mocca")
        try detector.save(to: url)
        let loaded = try MOCCADetector.load(from: url)
        #expect(loaded.configuration == detector.configuration)
        #expect(Self.scorers(loaded).map(\.references.scalars) == Self.scorers(detector).map(\.references.scalars))
        let before = try detector.score(DetectorTests.test.0), after = try loaded.score(DetectorTests.test.0)
        #expect(after.overall == before.overall)
        #expect(after.perChannel == before.perChannel)
    }

    @Test func aDetectorWhoseReferencesAreMissingIsAnInvalidDetector() throws {
        let directory = try makeTemporaryDirectory("detector-knn-missing")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("knn.mocca")
        try DetectorTests.fitted(Self.configuration()).save(to: url)
        // Claim the centroid score's sibling is a k-NN detector: the same weights, minus references.
        let centroidURL = directory.appendingPathComponent("centroid.mocca")
        try DetectorTests.fitted(DetectorTests.configuration(seed: 5)).save(to: centroidURL)
        try FileManager.default.removeItem(at: centroidURL.appendingPathComponent("manifest.json"))
        try FileManager.default.copyItem(at: url.appendingPathComponent("manifest.json"), to: centroidURL.appendingPathComponent("manifest.json"))
        DetectorTests.expectInvalidDetector(centroidURL.path) { _ = try MOCCADetector.load(from: centroidURL) }
    }

    @Test func tooFewTrainingImagesForKIsAnInvalidConfiguration() throws {
        let detector = try MOCCADetector(configuration: Self.configuration(neighbors: 40))
        DetectorTests.expectInvalidConfiguration("k = 40 with 40 images") { try detector.fit(normal: DetectorTests.train) }
    }

    @Test func aConfigurationStoredBeforeTheTapScoreExistedDecodesWithTheDefaults() throws {
        let stored = try JSONEncoder().encode(DetectorTests.configuration())
        var object = try #require(JSONSerialization.jsonObject(with: stored) as? [String: Any])
        object["tapScore"] = nil
        object["neighbors"] = nil
        let decoded = try JSONDecoder().decode(MOCCAConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
        #expect(decoded == DetectorTests.configuration())
        #expect(decoded.tapScore == .centroid && decoded.neighbors == 1)
    }

    @Test func coresetPicksTheFarthestPointsGreedily() throws {
        // Points on a line; after the seeded first point, each pick is the farthest from those chosen.
        let points = try Tensor(shape: [6, 1], scalars: [0, 1, 2, 10, 11, 20])
        let chosen = NearestNeighborScorer.coreset(of: points, size: 3, seed: 1)
        #expect(chosen.count == 3 && Set(chosen).count == 3)
        let values = points.scalars
        var nearest = values.map { abs($0 - values[chosen[0]]) }
        for pick in chosen.dropFirst() {
            #expect(nearest[pick] == nearest.max())
            nearest = zip(nearest, values).map { min($0, abs($1 - values[pick])) }
        }
        #expect(NearestNeighborScorer.coreset(of: points, size: 3, seed: 1) == chosen)
        #expect(NearestNeighborScorer.coreset(of: points, size: 9, seed: 1) == Array(0..<6))
    }

    @Test func aReferenceLimitKeepsACoresetAndStillSkipsTrainingSamplesThemselves() throws {
        var configuration = Self.configuration()
        configuration.referenceLimit = 20
        let detector = try DetectorTests.fitted(configuration)
        for scorer in Self.scorers(detector) { #expect(scorer.references.shape[0] == 20) }
        // Leave-one-out training scores, with references at coreset positions, are all finite.
        #expect(detector.trainingScores.count == DetectorTests.train.shape[0])
        #expect(detector.trainingScores.allSatisfy { $0.isFinite })
        let scores = try detector.score(DetectorTests.test.0)
        #expect(scores.overall.allSatisfy { $0.isFinite })
        // Saved and loaded, the coreset is what is kept.
        let folder = try makeTemporaryDirectory("coreset")
        defer { try? FileManager.default.removeItem(at: folder) }
        try detector.save(to: folder)
        let loaded = try MOCCADetector.load(from: folder)
        #expect(try loaded.score(DetectorTests.test.0).overall == scores.overall)
    }

    @Test func aFittedDetectorCanBeShrunkToACoresetWithoutRetraining() throws {
        let detector = try DetectorTests.fitted(Self.configuration())
        let limited = try detector.limitingReferences(to: 15, references: TensorSource(DetectorTests.train))
        for scorer in Self.scorers(limited) { #expect(scorer.references.shape[0] == 15) }
        #expect(limited.configuration.referenceLimit == 15)
        #expect(zip(limited.taps, detector.taps).allSatisfy { $0.centroid.scalars == $1.centroid.scalars && $0.radius == $1.radius })
        // The same network: with every reference kept, the scores are the original's.
        let all = try detector.limitingReferences(to: nil, references: TensorSource(DetectorTests.train))
        #expect(try all.score(DetectorTests.test.0).overall == detector.score(DetectorTests.test.0).overall)
    }

    @Test func theUnsquaredCentroidScoreIsTheRootOfTheSquaredOne() throws {
        var squared = DetectorTests.configuration(seed: 5)
        squared.boundary = .soft
        let detector = try DetectorTests.fitted(squared)
        var unsquared = squared
        unsquared.tapScore = .centroidEuclidean
        for tap in detector.taps {
            let vectors = try Tensor(shape: [2, tap.centroid.count], scalars: (0..<(2 * tap.centroid.count)).map { Float($0 % 5) * 0.3 })
            let d = try CentroidScorer(fitting: tap, representations: nil, configuration: squared).score(vectors, trainingOffset: nil)
            let e = try CentroidScorer(fitting: tap, representations: nil, configuration: unsquared).score(vectors, trainingOffset: nil)
            for (a, b) in zip(d, e) { #expect(abs((a + tap.radius * tap.radius).squareRoot() - tap.radius - b) < 1e-4) }
        }
    }
}
