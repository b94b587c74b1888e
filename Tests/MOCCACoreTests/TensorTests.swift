@testable import MOCCACore
import MOCCATestSupport
import Testing

@Suite("Random generator")
struct RandomGeneratorTests {
    @Test func sameSeedGivesSameSequence() {
        var a = RandomGenerator(seed: 42), b = RandomGenerator(seed: 42)
        let first = (0..<100).map { _ in a.next() }
        let second = (0..<100).map { _ in b.next() }
        #expect(first == second)
        #expect(Set(first).count == 100, "a generator should not repeat itself within 100 draws")
    }

    @Test func differentSeedsGiveDifferentSequences() {
        var a = RandomGenerator(seed: 1), b = RandomGenerator(seed: 2)
        let first = (0..<100).map { _ in a.next() }
        let second = (0..<100).map { _ in b.next() }
        #expect(zip(first, second).filter { $0 == $1 }.isEmpty)
    }

    @Test(arguments: [0, 1, 2, 10, 1000])
    func permutationIsAPermutation(count: Int) {
        var generator = RandomGenerator(seed: 7)
        let permutation = generator.permutation(count)
        #expect(permutation.count == count)
        #expect(permutation.sorted() == Array(0..<count))
        if count >= 10 {
            #expect(permutation != Array(0..<count), "a shuffle of \(count) elements should move something")
        }
    }

    @Test func permutationIsReproducibleAndSeedDependent() {
        var a = RandomGenerator(seed: 3), b = RandomGenerator(seed: 3), c = RandomGenerator(seed: 4)
        let p = a.permutation(50)
        #expect(p == b.permutation(50))
        #expect(p != c.permutation(50))
    }

    /// n = 10 000 draws: the standard error of the mean of U(0,1) is √(1/12)/100 ≈ 0.0029,
    /// so 0.015 is about five standard errors.
    @Test func uniformStaysInRangeWithMeanOneHalf() {
        var generator = RandomGenerator(seed: 11)
        let values = (0..<10_000).map { _ in generator.nextUniform() }
        #expect(values.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = values.reduce(0, +) / Float(values.count)
        #expect(abs(mean - 0.5) < 0.015, "mean \(mean)")
        // Both halves of the interval are used.
        #expect(values.min()! < 0.01 && values.max()! > 0.99)
    }

    @Test func uniformTensorRespectsItsRange() {
        var generator = RandomGenerator(seed: 12)
        let t = Tensor.uniform(shape: [100, 100], in: -2...3, using: &generator)
        let values = t.scalars
        #expect(values.allSatisfy { $0 >= -2 && $0 <= 3 })
        let mean = values.reduce(0, +) / Float(values.count)
        // Standard error 5·0.0029 ≈ 0.014.
        #expect(abs(mean - 0.5) < 0.07, "mean \(mean)")
    }

    /// n = 10 000: the standard error of the mean is 0.01 and that of the standard deviation
    /// about 0.007, so 0.05 is five or more standard errors.
    @Test func normalHasMeanZeroAndUnitStandardDeviation() {
        var generator = RandomGenerator(seed: 13)
        let values = (0..<10_000).map { _ in Double(generator.nextNormal()) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        #expect(abs(mean) < 0.05, "mean \(mean)")
        #expect(abs(variance.squareRoot() - 1) < 0.05, "standard deviation \(variance.squareRoot())")
        #expect(values.allSatisfy { $0.isFinite })
    }

    @Test func normalTensorHasRequestedMeanAndDeviation() {
        var generator = RandomGenerator(seed: 14)
        let values = Tensor.normal(shape: [10_000], mean: 3, standardDeviation: 2, using: &generator).scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let sd = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
        #expect(abs(mean - 3) < 0.1, "mean \(mean)")
        #expect(abs(sd - 2) < 0.1, "standard deviation \(sd)")
    }
}

@Suite("Tensor basics")
struct TensorBasicsTests {
    @Test func initWithWrongScalarCountThrowsShapeMismatch() throws {
        let error = #expect(throws: TensorError.self) { try Tensor(shape: [2, 3], scalars: [1, 2, 3]) }
        guard case let .shapeMismatch(op, message)? = error else {
            Issue.record("expected shapeMismatch, got \(String(describing: error))")
            return
        }
        #expect(op == "Tensor(shape:scalars:)")
        #expect(message.contains("6") && message.contains("3"))
    }

    @Test func initWithNegativeDimensionThrowsInvalidArgument() {
        let error = #expect(throws: TensorError.self) { try Tensor(shape: [-1, 2], scalars: []) }
        guard case .invalidArgument? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func initKeepsRowMajorValues() throws {
        let t = try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])
        #expect(t.shape == [2, 2] && t.count == 4 && t.rank == 2)
        #expect(t.scalars == [1, 2, 3, 4])
        #expect(Tensor(2.5).shape == [] && Tensor(2.5).item == 2.5)
        #expect(Tensor(repeating: 3, shape: [2, 3]).scalars == Array(repeating: 3, count: 6))
    }

    /// A convolution output may come in a blocked oneDNN layout; `plain()` must turn it into a
    /// tensor that the pointer accessors accept (they trap otherwise, so check `isPlain` first).
    @Test func plainOfAConvolutionOutputIsPlainAndIndexable() throws {
        let y = try Tensor.convolution2d(deterministicFill([1, 3, 6, 6], seed: 1),
                                         weight: deterministicFill([16, 3, 3, 3], seed: 2), padding: 1)
        let plain = try y.plain()
        try #require(plain.isPlain, "plain() of a \(y.isPlain ? "plain" : "blocked") tensor is not plain")
        #expect(plain.shape == y.shape)
        #expect(plain.withUnsafeBufferPointer { Array($0) } == y.scalars)
    }

    @Test func reshapeInfersOneDimension() throws {
        let t = try Tensor(shape: [2, 3, 4], scalars: (0..<24).map(Float.init))
        let r = try t.reshaped(to: [-1, 4])
        #expect(r.shape == [6, 4])
        #expect(r.scalars == t.scalars)
        #expect(try t.reshaped(to: [2, -1]).shape == [2, 12])
        #expect(try t.flattened().shape == [2, 12])
    }

    @Test func invalidReshapesThrow() throws {
        let t = Tensor(zeros: [2, 3, 4])
        let wrongCount = #expect(throws: TensorError.self) { try t.reshaped(to: [5, 5]) }
        guard case .shapeMismatch(op: "reshape", _)? = wrongCount else { Issue.record("got \(String(describing: wrongCount))"); return }
        let notDivisible = #expect(throws: TensorError.self) { try t.reshaped(to: [5, -1]) }
        guard case .shapeMismatch(op: "reshape", _)? = notDivisible else { Issue.record("got \(String(describing: notDivisible))"); return }
        let twoInferred = #expect(throws: TensorError.self) { try t.reshaped(to: [-1, -1]) }
        guard case .invalidArgument(op: "reshape", _)? = twoInferred else { Issue.record("got \(String(describing: twoInferred))"); return }
    }
}

@Suite("Autograd")
struct AutogradTests {
    @Test func gradientAccumulatesWhenALeafIsUsedTwice() throws {
        let a = leaf(try Tensor(shape: [4], scalars: [1, -2, 0.5, 3]))
        try (a * a).sum().backward()
        #expect(try #require(a.grad).scalars == [2, -4, 1, 6])

        let b = leaf(try Tensor(shape: [3], scalars: [1, 2, 3]))
        try (b + b).sum().backward()
        #expect(try #require(b.grad).scalars == [2, 2, 2])
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() throws {
        let a = leaf(try Tensor(shape: [2], scalars: [1, 2]))
        try (a * 3).sum().backward()
        try (a * 3).sum().backward()
        #expect(try #require(a.grad).scalars == [6, 6])
    }

    @Test func gradientFlowsThroughADiamond() throws {
        // y = (a·2 + a²)·a summed: dy/da = 4a + 3a².
        let a = leaf(try Tensor(shape: [3], scalars: [1, -1, 2]))
        try ((a * 2 + a.squared()) * a).sum().backward()
        #expect(try #require(a.grad).scalars == [7, -1, 20])
    }

    /// `grad` is documented as plain; a convolution's input gradient comes from oneDNN in a
    /// blocked layout when the channel count suits one (16 here).
    @Test func leafGradientIsPlainAfterConvolutionBackward() throws {
        let x = leaf(deterministicFill([1, 16, 6, 6], seed: 1))
        let weight = leaf(deterministicFill([16, 16, 3, 3], seed: 2, scale: 0.1))
        try Tensor.convolution2d(x, weight: weight, padding: 1).sum().backward()
        let gx = try #require(x.grad), gw = try #require(weight.grad)
        #expect(gw.isPlain)
        try #require(gx.isPlain, "the input gradient is not plain: its pointer accessors would trap")
        #expect(gx.withUnsafeBufferPointer { Array($0) } == gx.scalars)
    }

    @Test func withoutGradientsRecordsNothing() throws {
        let a = leaf(try Tensor(shape: [2, 2], scalars: [1, 2, 3, 4]))
        let y = try withoutGradients { try (a * a).sum() }
        #expect(!y.requiresGrad)
        #expect(throws: TensorError.self) { try y.backward() }
        #expect(a.grad == nil)
        // Outside the block, recording is back on.
        #expect(try (a * a).sum().requiresGrad)
    }

    @Test func backwardOnATensorThatNeedsNoGradientThrows() throws {
        let t = try Tensor(shape: [2], scalars: [1, 2])
        let error = #expect(throws: TensorError.self) { try t.sum().backward() }
        guard case .invalidArgument(op: "backward", _)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error?.description.contains("backward") == true)
    }

    /// The graph refers to ops, not to their values: a sum that only feeds a LeakyReLU (which
    /// saves its output) is freed after the forward pass, and the gradient is still right.
    @Test func anActivationNoBackwardNeedsIsFreedAfterTheForwardPass() throws {
        let a = leaf(try Tensor(shape: [4], scalars: [1, -2, 0.5, -3]))
        weak var freedSum: Tensor?
        let activated: Tensor = try {
            let sum = try a + a
            freedSum = sum
            return try sum.leakyRelu(slope: 0.1)
        }()
        #expect(freedSum == nil, "the graph kept the LeakyReLU's input alive")
        try activated.sum().backward()
        #expect(try #require(a.grad).scalars == [2, 0.2, 2, 0.2])
    }

    @Test func aSecondBackwardThroughTheSameGraphThrows() throws {
        let a = leaf(try Tensor(shape: [2], scalars: [1, 2]))
        let loss = try (a * a).sum()
        try loss.backward()
        let error = #expect(throws: TensorError.self) { try loss.backward() }
        guard case .invalidArgument(op: "backward", let message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(message.contains("already used"))
        #expect(try #require(a.grad).scalars == [2, 4], "the failed pass changed the gradient")
    }

    @Test func aNegativeLeakyReLUSlopeIsRefused() throws {
        let a = leaf(try Tensor(shape: [2], scalars: [1, -2]))
        #expect(throws: TensorError.self) { try a.leakyRelu(slope: -0.5) }
    }

    @Test func backwardWithAWronglyShapedSeedThrows() throws {
        let a = leaf(try Tensor(shape: [3], scalars: [1, 2, 3]))
        let error = #expect(throws: TensorError.self) { try (a * 2).backward(seed: Tensor(zeros: [2])) }
        guard case .shapeMismatch(op: "backward", _)? = error else { Issue.record("got \(String(describing: error))"); return }
    }
}
