import MOCCATestSupport
import MOCCACore
import MOCCAData
import Testing

@Suite("Preprocessing and batching")
struct PreprocessorTests {
    static let imageA: [UInt8] = [0, 51, 102, 255]
    static let imageB: [UInt8] = [10, 10, 20, 20]

    static func dataset(_ images: [[UInt8]]) throws -> ImageDataset {
        try ImageDataset(imageShape: [1, 2, 2], pixels: images.flatMap { $0 }, labels: images.map { _ in 0 },
                     classNames: ["only"], sources: images.indices.map { "image\($0)" })
    }

    /// The reference computation in double precision: x/255, GCN with the L1 norm, min-max.
    static func reference(_ images: [[UInt8]], gcn: Bool) -> (min: Double, max: Double, out: [[Double]]) {
        let normalised = images.map { image -> [Double] in
            let x = image.map { Double($0) / 255 }
            guard gcn else { return x }
            let mean = x.reduce(0, +) / Double(x.count)
            let centred = x.map { $0 - mean }
            let l1 = centred.map(abs).reduce(0, +) / Double(x.count)
            return l1 > 0 ? centred.map { $0 / l1 } : centred
        }
        let lo = normalised.flatMap { $0 }.min()!, hi = normalised.flatMap { $0 }.max()!
        return (lo, hi, normalised.map { $0.map { ($0 - lo) / (hi - lo) } })
    }

    /// By hand: A/255 = [0, .2, .4, 1], mean .4, L1 .3 → [−4/3, −2/3, 0, 2];
    /// B → [−1, −1, 1, 1]. min −4/3, max 2, so A → [0, .2, .4, 1] and B → [.1, .1, .7, .7].
    @Test func globalContrastNormalisationThenMinMaxMatchesTheHandComputation() throws {
        let data = try Self.dataset([Self.imageA, Self.imageB])
        let preprocessor = try Preprocessor.fit(on: data)
        #expect(preprocessor.globalContrastNormalization)
        #expect(abs(Double(preprocessor.minimum) - (-4.0 / 3.0)) < 1e-5)
        #expect(abs(Double(preprocessor.maximum) - 2.0) < 1e-5)

        let out = preprocessor.apply(data)
        #expect(out.shape == [2, 1, 2, 2])
        let byHand: [Double] = [0, 0.2, 0.4, 1, 0.1, 0.1, 0.7, 0.7]
        let reference = Self.reference([Self.imageA, Self.imageB], gcn: true).out.flatMap { $0 }
        for (i, value) in out.scalars.enumerated() {
            #expect(abs(Double(value) - byHand[i]) < 1e-5, "element \(i): \(value) vs \(byHand[i])")
            #expect(abs(Double(value) - reference[i]) < 1e-5, "element \(i): \(value) vs \(reference[i])")
        }
    }

    @Test func withoutContrastNormalisationOnlyScalesAndMinMaxes() throws {
        let images = [Self.imageB, [30, 40, 50, 60]]
        let data = try Self.dataset(images)
        let preprocessor = try Preprocessor.fit(on: data, globalContrastNormalization: false)
        #expect(abs(preprocessor.minimum - 10.0 / 255) < 1e-6)
        #expect(abs(preprocessor.maximum - 60.0 / 255) < 1e-6)
        let expected = Self.reference(images, gcn: false).out.flatMap { $0 }
        // By hand: (p − 10) / 50.
        let byHand = [0, 0, 0.2, 0.2, 0.4, 0.6, 0.8, 1.0]
        for (i, value) in preprocessor.apply(data).scalars.enumerated() {
            #expect(abs(Double(value) - byHand[i]) < 1e-5)
            #expect(abs(Double(value) - expected[i]) < 1e-5)
        }
    }

    @Test func applyUsesTheFittedConstantsOnOtherImagesAndIndices() throws {
        let preprocessor = try Preprocessor.fit(on: try Self.dataset([Self.imageA, Self.imageB]))
        let other = try Self.dataset([[200, 0, 0, 0], Self.imageB, Self.imageA])
        let out = preprocessor.apply(other, indices: [2, 0])
        #expect(out.shape == [2, 1, 2, 2])
        // Image A again, then [200, 0, 0, 0]: mean 50/255, L1 75/255, so GCN gives
        // [2, −2/3, −2/3, −2/3] and min-max [1, 0.2, 0.2, 0.2].
        let x = [200.0, 0, 0, 0].map { $0 / 255 }
        let mean = x.reduce(0, +) / 4
        let l1 = x.map { abs($0 - mean) }.reduce(0, +) / 4
        let gcn = x.map { ($0 - mean) / l1 }
        let expected = [0, 0.2, 0.4, 1] + gcn.map { ($0 + 4.0 / 3.0) / (10.0 / 3.0) }
        #expect(expected.suffix(4).enumerated().allSatisfy { abs($0.element - [1, 0.2, 0.2, 0.2][$0.offset]) < 1e-12 })
        for (value, want) in zip(out.scalars, expected) { #expect(abs(Double(value) - want) < 1e-5) }
    }

    @Test func constantImagesDoNotProduceNaN() throws {
        // A constant image among others, and a set of constant images only.
        let mixed = try Self.dataset([[7, 7, 7, 7], Self.imageA])
        let p = try Preprocessor.fit(on: mixed)
        #expect(p.minimum.isFinite && p.maximum.isFinite && p.maximum > p.minimum)
        let out = p.apply(mixed)
        #expect(out.isFinite)
        // The constant image normalises to 0 before min-max: (0 + 4/3) / (10/3) = 0.4.
        #expect(isNear(Array(out.scalars.prefix(4)), [0.4, 0.4, 0.4, 0.4], 1e-5))

        let constant = try Self.dataset([[9, 9, 9, 9], [200, 200, 200, 200]])
        for gcn in [true, false] {
            let q = try Preprocessor.fit(on: constant, globalContrastNormalization: gcn)
            #expect(q.maximum > q.minimum, "gcn \(gcn)")
            #expect(q.apply(constant).isFinite, "gcn \(gcn)")
        }
        let single = try Self.dataset([[9, 9, 9, 9]])
        let r = try Preprocessor.fit(on: single, globalContrastNormalization: false)
        #expect(r.apply(single).isFinite)
    }

    @Test func inconsistentPartsAreMalformedDataNotACrash() {
        let cases: [(String, () throws -> ImageDataset)] = [
            ("pixels", { try ImageDataset(imageShape: [1, 2, 2], pixels: [1, 2, 3], labels: [0], classNames: ["a"], sources: ["x"]) }),
            ("shape", { try ImageDataset(imageShape: [2, 2], pixels: [1, 2, 3, 4], labels: [0], classNames: ["a"], sources: ["x"]) }),
            ("sources", { try ImageDataset(imageShape: [1, 1, 1], pixels: [1, 2], labels: [0, 0], classNames: ["a"], sources: ["x"]) }),
            ("label", { try ImageDataset(imageShape: [1, 1, 1], pixels: [1], labels: [3], classNames: ["a"], sources: ["x"]) }),
        ]
        for (name, make) in cases {
            let error = #expect(throws: DataError.self, "\(name)") { try make() }
            guard case .malformed? = error else { Issue.record("\(name): got \(String(describing: error))"); continue }
        }
    }

    @Test func fittingOnNoImagesThrows() throws {
        let empty = try ImageDataset(imageShape: [1, 2, 2], pixels: [], labels: [], classNames: ["a"], sources: [])
        let error = #expect(throws: DataError.self) { try Preprocessor.fit(on: empty) }
        guard case .emptyClass? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    // MARK: BatchSampler

    @Test func samplerWithTheSameSeedGivesTheSameBatches() {
        var a = BatchSampler(count: 23, batchSize: 5, seed: 42)
        var b = BatchSampler(count: 23, batchSize: 5, seed: 42)
        var c = BatchSampler(count: 23, batchSize: 5, seed: 43)
        var differs = false
        for _ in 0..<3 {
            let batchesA = a.nextEpoch()
            #expect(batchesA == b.nextEpoch())
            if batchesA != c.nextEpoch() { differs = true }
        }
        #expect(differs, "another seed gives another order")
    }

    @Test func everyEpochIsAPermutationOfAllIndicesInCorrectlySizedBatches() {
        var sampler = BatchSampler(count: 10, batchSize: 4, seed: 7)
        var epochs: [[Int]] = []
        for _ in 0..<4 {
            let batches = sampler.nextEpoch()
            #expect(batches.map(\.count) == [4, 4, 2])
            let flat = batches.flatMap { $0 }
            #expect(flat.sorted() == Array(0..<10))
            epochs.append(flat)
        }
        #expect(Set(epochs.map { $0.description }).count > 1, "epochs are reshuffled")
        #expect(epochs.contains { $0 != Array(0..<10) }, "the order is shuffled")
    }

    @Test func dropLastDropsOnlyASmallerLastBatch() {
        var dropping = BatchSampler(count: 10, batchSize: 4, seed: 7, dropLast: true)
        let batches = dropping.nextEpoch()
        #expect(batches.map(\.count) == [4, 4])
        #expect(Set(batches.flatMap { $0 }).count == 8)
        var exact = BatchSampler(count: 8, batchSize: 4, seed: 7, dropLast: true)
        #expect(exact.nextEpoch().map(\.count) == [4, 4])
        var whole = BatchSampler(count: 3, batchSize: 10, seed: 1)
        #expect(whole.nextEpoch().map(\.count) == [3])
    }

    @Test func gatheringRowsCopiesTheRequestedRowsInOrder() throws {
        let source = try Tensor(shape: [4, 2, 3], scalars: (0..<24).map(Float.init))
        let gathered = try source.gatheringRows([2, 0, 2])
        #expect(gathered.shape == [3, 2, 3])
        let row = { (r: Int) in (0..<6).map { Float(r * 6 + $0) } }
        #expect(gathered.scalars == row(2) + row(0) + row(2))
        // A copy: changing it leaves the source alone.
        gathered.unsafeScalarPointer[0] = -1
        #expect(source.scalars[12] == 12)
        #expect(try source.gatheringRows([]).shape == [0, 2, 3])
    }

    @Test(arguments: [-1, 4, 100])
    func gatheringRowsRejectsOutOfRangeRows(row: Int) throws {
        let source = try Tensor(shape: [4, 3], scalars: (0..<12).map(Float.init))
        let error = #expect(throws: TensorError.self) { try source.gatheringRows([0, row]) }
        guard case .invalidArgument? = error else { Issue.record("got \(String(describing: error))"); return }
    }
}
