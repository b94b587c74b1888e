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

    @Test func backwardWithAWronglyShapedSeedThrows() throws {
        let a = leaf(try Tensor(shape: [3], scalars: [1, 2, 3]))
        let error = #expect(throws: TensorError.self) { try (a * 2).backward(seed: Tensor(zeros: [2])) }
        guard case .shapeMismatch(op: "backward", _)? = error else { Issue.record("got \(String(describing: error))"); return }
    }
}

@Suite("Ops reject bad inputs with typed errors")
struct OpErrorTests {
    /// Runs `body`, expects a `TensorError` whose description names `op`, and returns it.
    @discardableResult
    func expectError(op: String, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) -> TensorError? {
        let error = #expect(throws: TensorError.self, sourceLocation: sourceLocation) { try body() }
        if let error {
            #expect(error.description.hasPrefix("\(op):"), "\(error.description)", sourceLocation: sourceLocation)
        }
        return error
    }

    @Test func convolutionWithMismatchedChannelsThrowsShapeMismatch() {
        let error = expectError(op: "conv2d") {
            _ = try Tensor.convolution2d(Tensor(zeros: [1, 3, 8, 8]), weight: Tensor(zeros: [4, 2, 3, 3]))
        }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error!.description.contains("3 channels"))
    }

    @Test func convolutionOnRankThreeInputThrowsRankMismatch() {
        let error = expectError(op: "conv2d") {
            _ = try Tensor.convolution2d(Tensor(zeros: [3, 8, 8]), weight: Tensor(zeros: [4, 3, 3, 3]))
        }
        guard case .rankMismatch(_, _, let got)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(got == [3, 8, 8])
        #expect(error!.description.contains("rank 3"))
    }

    @Test func emptyBatchThrowsEmptyForConvolutionLinearAndBatchNorm() {
        let conv = expectError(op: "conv2d") {
            _ = try Tensor.convolution2d(Tensor(zeros: [0, 3, 8, 8]), weight: Tensor(zeros: [4, 3, 3, 3]))
        }
        guard case .empty? = conv else { Issue.record("conv: got \(String(describing: conv))"); return }
        let transposed = expectError(op: "conv_transpose2d") {
            _ = try Tensor.convolutionTranspose2d(Tensor(zeros: [0, 3, 8, 8]), weight: Tensor(zeros: [3, 4, 3, 3]))
        }
        guard case .empty? = transposed else { Issue.record("conv_transpose: got \(String(describing: transposed))"); return }
        let linear = expectError(op: "linear") {
            _ = try Tensor.linear(Tensor(zeros: [0, 3]), weight: Tensor(zeros: [4, 3]))
        }
        guard case .empty? = linear else { Issue.record("linear: got \(String(describing: linear))"); return }
        let batchNorm = expectError(op: "batch_norm") {
            _ = try Tensor.batchNormalization(Tensor(zeros: [0, 3, 8, 8]), scale: nil, shift: nil,
                                              runningMean: Tensor(zeros: [3]), runningVariance: Tensor(repeating: 1, shape: [3]),
                                              training: true)
        }
        guard case .empty? = batchNorm else { Issue.record("batch norm: got \(String(describing: batchNorm))"); return }
    }

    @Test func batchNormTrainingWithOneValuePerChannelThrows() {
        let mean = Tensor(zeros: [3]), variance = Tensor(repeating: 1, shape: [3])
        for shape in [[1, 3], [1, 3, 1, 1]] {
            let error = expectError(op: "batch_norm") {
                _ = try Tensor.batchNormalization(Tensor(zeros: shape), scale: nil, shift: nil, runningMean: mean,
                                                  runningVariance: variance, training: true)
            }
            guard case .invalidArgument? = error else { Issue.record("\(shape): got \(String(describing: error))"); continue }
        }
        // The running statistics were not touched, and evaluation mode accepts a single value.
        #expect(mean.scalars == [0, 0, 0] && variance.scalars == [1, 1, 1])
        #expect(throws: Never.self) {
            _ = try Tensor.batchNormalization(Tensor(zeros: [1, 3]), scale: nil, shift: nil, runningMean: mean,
                                              runningVariance: variance, training: false)
        }
    }

    @Test func checkFiniteRejectsNaNAndInfinity() throws {
        let nan = try Tensor(shape: [3], scalars: [1, .nan, 2])
        let error = expectError(op: "loss") { try nan.checkFinite("loss") }
        guard case .nonFinite? = error else { Issue.record("got \(String(describing: error))"); return }
        let infinite = try Tensor(shape: [2], scalars: [.infinity, 0])
        expectError(op: "grad") { try infinite.checkFinite("grad") }
        #expect(throws: Never.self) { try Tensor(shape: [2], scalars: [1, 2]).checkFinite("ok") }
    }

    @Test func maxPoolWindowLargerThanInputThrows() {
        let error = expectError(op: "max_pool2d") { _ = try Tensor.maxPool2d(Tensor(zeros: [1, 1, 4, 4]), kernelSize: 5) }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func concatenateWithMismatchedShapesThrows() {
        let error = expectError(op: "concatenate") {
            _ = try Tensor.concatenate([Tensor(zeros: [2, 3]), Tensor(zeros: [2, 4])], alongAxis: 0)
        }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
        let rank = expectError(op: "concatenate") {
            _ = try Tensor.concatenate([Tensor(zeros: [2, 3]), Tensor(zeros: [2, 3, 1])], alongAxis: 0)
        }
        guard case .shapeMismatch? = rank else { Issue.record("got \(String(describing: rank))"); return }
        let none = expectError(op: "concatenate") { _ = try Tensor.concatenate([], alongAxis: 0) }
        guard case .empty? = none else { Issue.record("got \(String(describing: none))"); return }
    }

    @Test func sliceOutOfRangeThrows() {
        let t = Tensor(zeros: [2, 5])
        let error = expectError(op: "slice") { _ = try t.slice(alongAxis: 1, 3..<6) }
        guard case .invalidArgument? = error else { Issue.record("got \(String(describing: error))"); return }
        let axis = expectError(op: "slice") { _ = try t.slice(alongAxis: 2, 0..<1) }
        guard case .invalidArgument? = axis else { Issue.record("got \(String(describing: axis))"); return }
    }

    @Test func elementwiseOpsOnMismatchedShapesThrow() {
        let error = expectError(op: "add") { _ = try Tensor(zeros: [2, 3]) + Tensor(zeros: [3, 2]) }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
        expectError(op: "multiply") { _ = try Tensor(zeros: [2]) * Tensor(zeros: [3]) }
        expectError(op: "mse") { _ = try Tensor.meanSquaredError(Tensor(zeros: [2, 3]), Tensor(zeros: [2, 4])) }
    }

    @Test func everyErrorDescriptionNamesItsOp() {
        let errors: [TensorError] = [
            .shapeMismatch(op: "opA", message: "m"), .rankMismatch(op: "opB", expected: "e", got: [1]),
            .empty(op: "opC", message: "m"), .nonFinite(op: "opD", message: "m"),
            .invalidArgument(op: "opE", message: "m"), .backend(op: "opF", message: "m"),
        ]
        for (error, op) in zip(errors, ["opA", "opB", "opC", "opD", "opE", "opF"]) {
            #expect(error.description.hasPrefix("\(op): "), "\(error.description)")
        }
    }
}

/// Runs that compare results across runs or thread counts: serialised, because the thread
/// count is process-wide state.
@Suite("Reproducibility and threads", .serialized)
struct ReproducibilityTests {
    /// One forward and backward pass of conv → batch norm → ReLU on fixed inputs; returns the
    /// output, the gradients of input, weight, bias, scale and shift, and the running stats.
    func convBatchNormReLU() throws -> [[Float]] {
        let x = leaf(deterministicFill([2, 3, 8, 8], seed: 1))
        let weight = leaf(deterministicFill([16, 3, 3, 3], seed: 2, scale: 0.3))
        let bias = leaf(deterministicFill([16], seed: 3, scale: 0.1))
        let scale = leaf(try deterministicFill([16], seed: 4, scale: 0.5) + 1)
        let shift = leaf(deterministicFill([16], seed: 5, scale: 0.5))
        let (mean, variance) = (Tensor(zeros: [16]), Tensor(repeating: 1, shape: [16]))
        let y = try Tensor.batchNormalization(
            Tensor.convolution2d(x, weight: weight, bias: bias, padding: 1),
            scale: scale, shift: shift, runningMean: mean, runningVariance: variance, training: true).relu()
        try project(y, deterministicFill(y.shape, seed: 6)).backward()
        return try [y.scalars] + [x, weight, bias, scale, shift].map { try #require($0.grad).scalars }
            + [mean.scalars, variance.scalars]
    }

    @Test func identicalRunsGiveIdenticalResults() throws {
        let first = try convBatchNormReLU()
        let second = try convBatchNormReLU()
        #expect(first.count == second.count)
        for (index, (a, b)) in zip(first, second).enumerated() {
            #expect(a == b, "result \(index) differs between two identical runs")
        }
        #expect(first[0].contains { $0 > 0 } && first[1].contains { $0 != 0 })
    }

    @Test func threadCountCanBeChangedWithoutChangingResults() throws {
        let previous = Threads.count
        defer { Threads.count = previous }
        let x = deterministicFill([2, 8, 12, 12], seed: 7)
        let weight = deterministicFill([16, 8, 3, 3], seed: 8, scale: 0.2)
        func run() throws -> Tensor { try Tensor.convolution2d(x, weight: weight, stride: 1, padding: 1) }

        Threads.count = 1
        #expect(Threads.count == 1)
        let single = try run()
        Threads.count = 2
        #expect(Threads.count == 2)
        let double = try run()
        Threads.count = 0
        #expect(Threads.count == 1, "a count below one is clamped to one")
        #expect(closeness(single, double, rtol: 0, atol: 1e-5) <= 1,
                "max |difference| \(closeness(single, double, rtol: 0, atol: 1))")
        #expect(single.scalars.contains { $0 != 0 })
    }
}

@Suite("Buffer pool")
struct BufferPoolTests {
    @Test func sizeClassesRoundUpByAtMostAQuarterAndLeaveSmallSizesAlone() {
        for size in [64 << 10, (64 << 10) + 1, 1_000_000, 8_388_608, 8_388_609, 33_554_431] {
            let rounded = BufferPool.sizeClass(size)
            #expect(rounded >= size && Double(rounded) <= 1.25 * Double(size), "\(size) -> \(rounded)")
            #expect(BufferPool.sizeClass(rounded) == rounded, "a class is its own class")
        }
        #expect(BufferPool.sizeClass(1000) == 1000)
        // Nearby sizes share a class, and so share cached buffers.
        #expect(BufferPool.sizeClass(5_000_000) == 5_242_880)
        #expect(BufferPool.sizeClass(5_200_000) == 5_242_880)
    }

    @Test func tensorsAfterReleasingTheCacheAreValidAndZeroed() throws {
        for _ in 0..<3 {
            let big = Tensor(repeating: 7, shape: [64, 32, 32])
            #expect(big.scalars.allSatisfy { $0 == 7 })
        }
        Tensor.releaseCachedBuffers()
        let fresh = Tensor(zeros: [64, 32, 32])
        #expect(fresh.scalars.allSatisfy { $0 == 0 })
        let reused = Tensor(zeros: [40, 32, 32])
        #expect(reused.scalars.allSatisfy { $0 == 0 })
    }
}

@Suite("Blocked-layout pooling and upsampling kernels")
struct BlockedKernelTests {
    /// Runs `op` on `values` in the plain layout (oneDNN's kernels) and in the blocked one
    /// (the vector loops); returns both outputs and both input gradients for one seed.
    static func bothPaths(_ values: [Float], shape: [Int], block: Int, seed: UInt64,
                          _ op: (Tensor) throws -> Tensor) throws -> (reference: Tensor, fast: Tensor, expected: [Float], got: [Float]) {
        let plain = try Tensor(shape: shape, scalars: values)
        plain.requiresGrad = true
        let reordered = try DNNL.reorder(plain, to: MemoryDescriptor(channelBlocked: shape, block: block))
        let input = Tensor(shape: shape, storage: reordered.storage, offset: reordered.offset, descriptor: reordered.descriptor)
        input.requiresGrad = true
        #expect(input.channelBlock == block)
        #expect(plain.channelBlock == nil)
        let reference = try op(plain), fast = try op(input)
        var generator = RandomGenerator(seed: seed)
        let upstream = Tensor.uniform(shape: reference.shape, in: -1...1, using: &generator)
        try reference.backward(seed: upstream)
        try fast.backward(seed: upstream)
        return (reference, fast, try #require(plain.grad).scalars, try #require(input.grad).scalars)
    }

    @Test(arguments: [8, 16])
    func upsamplingMatchesOneDNN(block: Int) throws {
        var generator = RandomGenerator(seed: 10)
        let values = (0..<(2 * 20 * 3 * 5)).map { _ in generator.nextUniform() * 2 - 1 }
        let run = try Self.bothPaths(values, shape: [2, 20, 3, 5], block: block, seed: 11) { try Tensor.upsampleNearest2d($0, factor: 2) }
        #expect(run.fast.scalars == run.reference.scalars)
        // The four gradients are summed in another order than oneDNN's average pooling.
        #expect(zip(run.got, run.expected).allSatisfy { abs($0 - $1) <= 1e-6 })
    }

    /// Same values, same gradient routing, ties included (the first maximum wins).
    @Test(arguments: [8, 16])
    func maxPoolingMatchesOneDNN(block: Int) throws {
        var generator = RandomGenerator(seed: 9)
        // Few distinct values, so that many windows hold ties.
        let values = (0..<(3 * 20 * 6 * 4)).map { _ in Float(Int(generator.nextUniform() * 4)) }
        let run = try Self.bothPaths(values, shape: [3, 20, 6, 4], block: block, seed: 12) { try Tensor.maxPool2d($0, kernelSize: 2) }
        #expect(run.fast.scalars == run.reference.scalars)
        #expect(run.got == run.expected)
        #expect(run.expected.filter { $0 != 0 }.count == run.reference.count, "one routed gradient per window")
    }
}
