@testable import MOCCACore
import MOCCATestSupport
import CKernels
import Testing

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

    /// At the task's count (``Threads/taskCount``), so that the other tests keep theirs.
    @Test func threadCountCanBeChangedWithoutChangingResults() throws {
        let x = deterministicFill([2, 8, 12, 12], seed: 7)
        let weight = deterministicFill([16, 8, 3, 3], seed: 8, scale: 0.2)
        func run() throws -> Tensor { try Tensor.convolution2d(x, weight: weight, stride: 1, padding: 1) }

        let single = try Threads.$taskCount.withValue(1) {
            #expect(Threads.count == 1)
            return try run()
        }
        let double = try Threads.$taskCount.withValue(2) {
            #expect(Threads.count == 2)
            return try run()
        }
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

    /// Buffers of sizes no longer asked for must not pile up beside the working set: the
    /// pooled bytes, in use and cached, stay within ``BufferPool/headroom`` times the most
    /// ever in use at once (here 52 MB, where a fixed cap would keep all 96 MB).
    @Test func cachedBuffersNeverTakeThePoolBeyondTheWorkingSetsPeak() {
        let pool = BufferPool(limit: 1 << 30)
        let sizes = (0..<6).map { BufferPool.sizeClass((1 << 20) * (3 + 2 * $0)) }
        // One "step" per size: two buffers of that size in use at once, then freed. A fixed
        // cap would have kept all twelve cached; the peak in use is the largest pair.
        for size in sizes {
            let a = pool.take(size), b = pool.take(size)
            #expect(a.capacity == size && b.capacity == size, "no larger buffer was cached")
            #expect(pool.mappedBytes <= BufferPool.headroom * pool.peakLiveBytes)
            pool.give(a.pointer, size: size)
            pool.give(b.pointer, size: size)
        }
        #expect(pool.liveBytes == 0)
        #expect(pool.peakLiveBytes == 2 * sizes[sizes.count - 1])
        #expect(pool.mappedBytes <= BufferPool.headroom * pool.peakLiveBytes, "mapped \(pool.mappedBytes), peak in use \(pool.peakLiveBytes)")
        #expect(pool.mappedBytes < sizes.reduce(0, +) * 2, "some of the older sizes were unmapped")
        // A repeated size is served from the cache: nothing new is mapped.
        let before = pool.mappedBytes
        let again = pool.take(sizes[sizes.count - 1])
        #expect(pool.mappedBytes == before)
        pool.give(again.pointer, size: again.capacity)
        pool.drain()
        #expect(pool.mappedBytes == 0 && pool.peakLiveBytes == 0)
    }

    /// An epoch's last, smaller batch runs in the full batches' cached buffers instead of
    /// mapping its own beside them; a much smaller request still gets its own class.
    @Test func aMissTakesASomewhatLargerCachedBuffer() {
        let pool = BufferPool(limit: 1 << 30)
        let full = BufferPool.sizeClass(32 << 20), last = BufferPool.sizeClass(24 << 20), tiny = BufferPool.sizeClass(4 << 20)
        let step = (0..<3).map { _ in pool.take(full) }
        for buffer in step { pool.give(buffer.pointer, size: buffer.capacity) }
        let mapped = pool.mappedBytes
        let ragged = (0..<3).map { _ in pool.take(last) }
        #expect(ragged.allSatisfy { $0.capacity == full })
        #expect(pool.mappedBytes == mapped, "the last batch mapped new buffers")
        for buffer in ragged { pool.give(buffer.pointer, size: buffer.capacity) }
        let small = pool.take(tiny)
        #expect(small.capacity == tiny, "a buffer over twice the size was reused")
        pool.give(small.pointer, size: small.capacity)
        pool.drain()
        #expect(pool.mappedBytes == 0)
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

    /// The instruction sets of the C kernels (`CKernels`) that this CPU can run.
    static var runnableISAs: [mocca_isa] {
        let flags = OpenBLASCore.cpuFlags
        var isas = [MOCCA_ISA_BASELINE]
        if flags.contains("avx2") { isas.append(MOCCA_ISA_AVX2) }
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { isas.append(MOCCA_ISA_AVX512) }
        return isas
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

    /// The C pooling kernels give the same bits on every instruction set this CPU runs
    /// (baseline x86-64, AVX2, AVX-512), with ties, NaNs, negative and zero maxima, with and
    /// without the leaky ReLU, forward and backward.
    @Test(arguments: [8, 16])
    func poolingKernelsAgreeAcrossInstructionSets(block: Int) throws {
        let isas = Self.runnableISAs
        let (planes, height, width) = (5, 3, 4)
        let (fine, coarse) = (planes * 4 * height * width * block, planes * height * width * block)
        var generator = RandomGenerator(seed: 15)
        var input = (0..<fine).map { _ in Float(Int(generator.nextUniform() * 5)) - 2 }
        for index in stride(from: 3, to: fine, by: 97) { input[index] = .nan }
        let upstream = (0..<coarse).map { _ in generator.nextUniform() * 2 - 1 }
        for activate: Int32 in [0, 1] {
            var results: [(output: [Float], positions: [Int32], gradient: [Float])] = []
            for isa in isas {
                var output = [Float](repeating: 0, count: coarse), positions = [Int32](repeating: -1, count: coarse)
                var gradient = [Float](repeating: .nan, count: fine)
                mocca_max_pool_2x2(isa, input, &output, &positions, planes, height, width, block, activate, 0.2)
                mocca_max_pool_2x2_backward(isa, upstream, positions, &gradient, planes, height, width, block, activate, 0.2)
                results.append((output, positions, gradient))
            }
            let reference = try #require(results.first)
            #expect(reference.positions.allSatisfy { (0...7).contains($0) })
            #expect(reference.gradient.allSatisfy { !$0.isNaN }, "every input element is written")
            #expect(reference.output.contains { $0.isNaN }, "NaN wins its window")
            for (isa, result) in zip(isas, results).dropFirst() {
                #expect(result.output.map(\.bitPattern) == reference.output.map(\.bitPattern), "\(isa)")
                #expect(result.positions == reference.positions, "\(isa)")
                #expect(result.gradient.map(\.bitPattern) == reference.gradient.map(\.bitPattern), "\(isa)")
            }
        }
    }

    /// The inference pooling with a per-channel affine map and a leaky ReLU, in C on the
    /// blocked layout, against oneDNN's pooling with the same post-ops on the plain one:
    /// the same bits, with and without a shift (whose absence keeps a zero's sign), with
    /// ties and zero results. A NaN wins its window in C, as in training and in PyTorch,
    /// where oneDNN's pooling drops it. Then the C kernel on every instruction set this CPU runs.
    @Test(arguments: [8, 16])
    func pooledAffineLeakyReluMatchesOneDNN(block: Int) throws {
        let (n, channels, h, w) = (3, 20, 6, 4)
        var generator = RandomGenerator(seed: 16)
        var values = (0..<(n * channels * h * w)).map { _ in Float(Int(generator.nextUniform() * 5)) - 2 }
        let plain = try Tensor(shape: [n, channels, h, w], scalars: values)
        let blocked = try DNNL.reorder(plain, to: MemoryDescriptor(channelBlocked: plain.shape, block: block))
        #expect(blocked.channelBlock == block && plain.channelBlock == nil)
        // Integer centres make exact zeros after the affine map.
        let center = (0..<channels).map { Float($0 % 3) - 1 }
        let scale = (0..<channels).map { 0.5 + Float($0 % 4) * 0.25 }
        for shift in [(0..<channels).map { Float($0 % 5) * 0.1 - 0.2 }, [Float](repeating: 0, count: channels)] {
            let (fast, reference) = try withoutGradients {
                try [blocked, plain].map { try Tensor.maxPool2dChannelAffineLeakyRelu($0, kernelSize: 2, center: center, scale: scale, shift: shift, slope: 0.2) }
            }.splat()
            #expect(fast.channelBlock == block)
            #expect(fast.scalars.map(\.bitPattern) == reference.scalars.map(\.bitPattern))
            #expect(reference.scalars.contains { $0 == 0 } && reference.scalars.contains { $0 < 0 })
        }
        values[0] = .nan
        let withNaN = try DNNL.reorder(try Tensor(shape: [n, channels, h, w], scalars: values), to: blocked.memoryDescriptor)
        let pooled = try withoutGradients {
            try Tensor.maxPool2dChannelAffineLeakyRelu(withNaN, kernelSize: 2, center: center, scale: scale, shift: scale, slope: 0.2)
        }
        #expect(pooled.scalars[0].isNaN && pooled.scalars.dropFirst().allSatisfy { !$0.isNaN })

        let isas = Self.runnableISAs
        let blocks = (channels + block - 1) / block
        let padded = { (v: [Float]) in v + [Float](repeating: 0, count: blocks * block - channels) }
        values[1] = .nan
        let input = try DNNL.reorder(try Tensor(shape: [n, channels, h, w], scalars: values), to: blocked.memoryDescriptor)
        let outputs = isas.map { isa in
            var output = [Float](repeating: 0, count: n * blocks * (h / 2) * (w / 2) * block)
            withExtendedLifetime(input) {
                mocca_max_pool_2x2_affine_leaky(isa, input.floatPointer, &output, 0, n * blocks, h / 2, w / 2, block, blocks,
                                                padded(center), padded(scale), padded(scale), 0.2)
            }
            return output.map(\.bitPattern)
        }
        #expect(outputs.allSatisfy { $0 == outputs[0] })
    }

    /// The fused pool and leaky ReLU on the blocked layout against oneDNN's pooling and
    /// eltwise passes on the plain one: the same bits forward and backward, with negative,
    /// zero and tied maxima and slopes of 0 (a ReLU), 0.01 and 0.2.
    @Test(arguments: [8, 16], [Float(0), 0.01, 0.2])
    func fusedMaxPoolingAndLeakyReluMatchOneDNN(block: Int, slope: Float) throws {
        var generator = RandomGenerator(seed: 13)
        let values = (0..<(3 * 20 * 6 * 4)).map { _ in Float(Int(generator.nextUniform() * 5)) - 2.5 + (generator.nextUniform() < 0.2 ? 0.5 : 0) }
        #expect(values.contains(0) && values.contains { $0 < 0 } && values.contains { $0 > 0 })
        let run = try Self.bothPaths(values, shape: [3, 20, 6, 4], block: block, seed: 14) { try Tensor.maxPool2x2LeakyRelu($0, slope: slope) }
        #expect(run.fast.scalars == run.reference.scalars)
        #expect(run.got == run.expected)
        #expect(run.reference.scalars.contains { $0 < 0 } == (slope > 0), "negative maxima are scaled, not cut")
        #expect(run.fast.gradientFunction?.name == "max_pool2d_leaky_relu")
    }
}

private extension Array {
    /// The two elements of a two-element array.
    func splat() -> (Element, Element) { (self[0], self[1]) }
}
