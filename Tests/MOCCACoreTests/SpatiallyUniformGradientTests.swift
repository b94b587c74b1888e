import CDNNL
import Testing
@testable import MOCCACore

/// The gradient that global average pooling hands back as `[N, C]` values: written out and
/// added to a dense gradient in every layout a map can have, against the same sums done
/// on plain values.
@Suite("Spatially uniform gradients")
struct SpatiallyUniformGradientTests {
    static let shape = [2, 11, 3, 4]

    /// The layouts written directly, and one (`abdc`) that goes through the plain layout.
    static let layouts: [(String, MemoryDescriptor)] = [
        ("plain", MemoryDescriptor(plain: shape)),
        ("channels-last", MemoryDescriptor(shape: shape, tag: dnnl_acdb)),
        ("blocks of 8", MemoryDescriptor(channelBlocked: shape, block: 8)),
        ("blocks of 16", MemoryDescriptor(channelBlocked: shape, block: 16)),
        ("abdc", MemoryDescriptor(shape: shape, tag: dnnl_abdc)),
    ]

    /// `g[n, c] / 12` at every position of map `(n, c)`, row-major.
    static func spread(_ g: [Float]) -> [Float] {
        let (n, c, positions) = (shape[0], shape[1], shape[2] * shape[3])
        return (0..<(n * c * positions)).map { g[$0 / positions] / Float(positions) }
    }

    static func pooledGradient(seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.uniform(shape: [shape[0], shape[1], 1, 1], in: -1...1, using: &generator)
    }

    static func inLayout(_ tensor: Tensor, _ descriptor: MemoryDescriptor) throws -> Tensor {
        let reordered = try DNNL.reorder(tensor, to: descriptor)
        #expect(reordered.memoryDescriptor == descriptor)
        return reordered
    }

    @Test(arguments: layouts.indices)
    func writtenOutInTheMapsLayout(layout: Int) throws {
        let (name, descriptor) = Self.layouts[layout]
        let g = Self.pooledGradient(seed: 1)
        let uniform = try SpatiallyUniformGradient(spreading: g, dividedBy: 12, over: Self.shape, descriptor: descriptor)
        let written = try uniform.materialized()
        #expect(written.memoryDescriptor == descriptor, "\(name)")
        #expect(written.scalars == Self.spread(g.scalars), "\(name)")
    }

    @Test(arguments: layouts.indices)
    func addedToADenseGradientInItsLayout(layout: Int) throws {
        let (name, descriptor) = Self.layouts[layout]
        var generator = RandomGenerator(seed: 2)
        let dense = Tensor.uniform(shape: Self.shape, in: -1...1, using: &generator)
        let g = Self.pooledGradient(seed: 3)
        // The uniform gradient's own layout does not matter: the sum takes the dense one's.
        let uniform = try SpatiallyUniformGradient(spreading: g, dividedBy: 12, over: Self.shape, descriptor: nil)
        let expected = zip(dense.scalars, Self.spread(g.scalars)).map { $0 + $1 }
        let laidOut = try Self.inLayout(dense, descriptor)
        for sum in [try Gradient.dense(laidOut).adding(.spatiallyUniform(uniform)),
                    try Gradient.spatiallyUniform(uniform).adding(.dense(laidOut))] {
            let tensor = try sum.tensor()
            #expect(tensor.memoryDescriptor == descriptor, "\(name)")
            #expect(tensor.scalars == expected, "\(name): the same bits as the plain sum")
        }
        // The blocked layouts' padding channels stay zero, as oneDNN reads them.
        if let block = descriptor.channelBlock {
            let sum = try uniform.added(to: laidOut)
            let (n, c, positions) = (Self.shape[0], Self.shape[1], Self.shape[2] * Self.shape[3])
            let blocks = (c + block - 1) / block
            let stored = UnsafeBufferPointer(start: sum.floatPointer, count: n * blocks * positions * block)
            let padding = (0..<stored.count).filter { i in (i / (positions * block)) % blocks * block + i % block >= c }
            #expect(!padding.isEmpty)
            #expect(padding.allSatisfy { stored[$0] == 0 }, "\(name)")
        }
    }

    @Test func twoUniformGradientsAddTheirValues() throws {
        let (a, b) = (Self.pooledGradient(seed: 4), Self.pooledGradient(seed: 5))
        let sum = try Gradient.spatiallyUniform(SpatiallyUniformGradient(spreading: a, dividedBy: 12, over: Self.shape, descriptor: nil))
            .adding(.spatiallyUniform(SpatiallyUniformGradient(spreading: b, dividedBy: 12, over: Self.shape, descriptor: nil)))
        guard case .spatiallyUniform = sum else { Issue.record("two uniform gradients should stay uniform"); return }
        #expect(try sum.tensor().scalars == zip(Self.spread(a.scalars), Self.spread(b.scalars)).map { $0 + $1 })
    }

    @Test func mismatchedShapesAreRefused() throws {
        let uniform = try SpatiallyUniformGradient(spreading: Self.pooledGradient(seed: 6), dividedBy: 12, over: Self.shape, descriptor: nil)
        #expect(throws: TensorError.self) { _ = try uniform.added(to: Tensor(zeros: [2, 11, 4, 3])) }
        let other = try SpatiallyUniformGradient(spreading: Tensor(zeros: [2, 11, 1, 1]), dividedBy: 4, over: [2, 11, 2, 2], descriptor: nil)
        #expect(throws: TensorError.self) { _ = try uniform.adding(other) }
    }

    /// Global average pooling of a map that the next layer also reads: the same gradient
    /// as oneDNN's pooling backward written out and summed, bit for bit.
    @Test(arguments: [8, 16])
    func aTapsGradientEqualsTheWrittenOutSum(block: Int) throws {
        var generator = RandomGenerator(seed: 7)
        let plain = Tensor.uniform(shape: [3, 20, 8, 8], in: -1...1, using: &generator)
        let map = try Self.inLayout(plain, MemoryDescriptor(channelBlocked: plain.shape, block: block))
        map.requiresGrad = true
        let pooled = try Tensor.globalAveragePool2d(map)
        let next = try map.leakyRelu(slope: 0.2)
        let (r1, r2) = (Tensor.uniform(shape: pooled.shape, in: -1...1, using: &generator), Tensor.uniform(shape: next.shape, in: -1...1, using: &generator))
        try ((pooled * r1).sum() + (next * r2).sum()).backward()
        let got = try #require(map.grad).scalars
        // By hand: r1/64 everywhere in each map, plus the leaky ReLU's gradient.
        let expected = plain.scalars.indices.map { i in
            (r2.scalars[i] * (plain.scalars[i] > 0 ? 1 : 0.2)) + r1.scalars[i / 64] / 64
        }
        #expect(got == expected)
    }
}
