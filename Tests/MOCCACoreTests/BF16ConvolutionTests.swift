import CDNNL
@testable import MOCCACore
import MOCCATestSupport
import Testing

/// bf16 convolutions (``ComputePrecision`` at bf16): every pass reads bf16 operands and
/// accumulates and writes float32. Where oneDNN runs native bf16 the results are checked
/// two ways: against float32 on the same operands rounded to bf16 first (to float32
/// summation order: this shows that the operands, and only they, are rounded), and
/// against plain float32 within bf16's rounding. Where it does not (a CPU without
/// AVX512-BF16 or AMX, or `scripts/test.sh`'s rerun at `ONEDNN_MAX_CPU_ISA=AVX2`), those
/// tests are skipped with that reason and the refusal is checked instead.
@Suite("bf16 convolutions")
struct BF16ConvolutionTests {
    typealias Case = ConvolutionCase

    /// Wide layers, which oneDNN runs on its bf16 JIT kernels in every pass.
    static let wide: [Case] = [
        Case(transposed: false, inChannels: 16, outChannels: 32, kernel: 3, stride: 1, padding: 1, outputPadding: 0, bias: true),
        Case(transposed: false, inChannels: 32, outChannels: 16, kernel: 5, stride: 2, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 32, outChannels: 16, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: true),
        Case(transposed: true, inChannels: 16, outChannels: 16, kernel: 3, stride: 2, padding: 1, outputPadding: 1, bias: false),
    ]

    /// Channel-poor layers (the CIFAR-10 ends, the MNIST network): other layouts, and
    /// passes that may run in float32 where bf16 has only the gemm kernel.
    static let narrow: [Case] = [
        Case(transposed: false, inChannels: 3, outChannels: 32, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 32, outChannels: 3, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: true),
        Case(transposed: false, inChannels: 8, outChannels: 4, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 4, outChannels: 8, kernel: 5, stride: 1, padding: 3, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 8, outChannels: 1, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: true),
        Case(transposed: false, inChannels: 1, outChannels: 8, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
    ]

    static let names = Case.resultNames

    /// `tensor`'s values rounded to the nearest bf16, ties to even: what oneDNN's reorder
    /// (the CPU's `vcvtneps2bf16`) gives for finite values.
    static func roundedToBF16(_ tensor: Tensor) throws -> Tensor {
        try Tensor(shape: tensor.shape, scalars: tensor.scalars.map { value in
            let bits = value.bitPattern
            return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
        })
    }

    @Test(.enabled(if: ComputePrecision.bf16IsNative, "oneDNN has no native bf16 on this CPU (or ONEDNN_MAX_CPU_ISA caps it)"),
          arguments: wide)
    func roundsTheOperandsAndAccumulatesInFloat32(_ c: Case) throws {
        let bf16 = try ComputePrecision.run(in: .bf16) { try c.run().results }
        let emulated = try c.run(prepare: Self.roundedToBF16).results
        let exact = try c.run().results
        for (index, (got, reference)) in zip(bf16, emulated).enumerated() {
            // Only the summation order differs from float32 on rounded operands: a bf16
            // destination, or a rounded result, would be off by up to 2^-9 relative.
            let scale = reference.scalars.map(abs).max() ?? 1
            let distance = closeness(got, reference, rtol: 1e-4, atol: 1e-5 * max(scale, 1e-3))
            #expect(distance <= 1, "\(Self.names[index]) differs from float32 on bf16-rounded operands: \(distance) tolerances")
        }
        // And bf16 did run: the results are not float32's.
        #expect(zip(bf16, exact).contains { $0.scalars != $1.scalars })
    }

    @Test(.enabled(if: ComputePrecision.bf16IsNative, "oneDNN has no native bf16 on this CPU (or ONEDNN_MAX_CPU_ISA caps it)"),
          arguments: wide + narrow)
    func staysWithinBF16RoundingOfFloat32(_ c: Case) throws {
        let bf16 = try ComputePrecision.run(in: .bf16) { try c.run().results }
        let (_, upstream, exact) = try c.run()
        #expect(bf16.count == exact.count)
        if c.bias {
            // The bias gradient sums the output gradient over a channel, whose terms cancel:
            // bound it by the rounding of every term, 2^-9·Σ|g| (each value |g| rounds by at
            // most 2^-9·|g|).
            let perChannel = upstream.count / c.outChannels, spatial = perChannel / upstream.shape[0]
            let values = upstream.scalars
            for channel in 0..<c.outChannels {
                var total: Float = 0
                for n in 0..<upstream.shape[0] {
                    let start = (n * c.outChannels + channel) * spatial
                    total += values[start..<start + spatial].reduce(0) { $0 + abs($1) }
                }
                let difference = abs(bf16[3].scalars[channel] - exact[3].scalars[channel])
                #expect(difference <= total / 512 + 1e-5, "bias gradient of channel \(channel): \(difference) above 2^-9·\(total)")
            }
        }
        for (index, (got, reference)) in zip(bf16, exact).enumerated().prefix(3) {
            // Each operand keeps 8 significant bits (relative error ≤ 2^-9); over sums of
            // terms of mixed signs the error relative to the result's size is ~2^-9·√(2/3)
            // in L2, and an element's largest error a few times that.
            let error = relativeL2Error(got, reference)
            #expect(error < 0.01, "\(Self.names[index]): relative L2 error \(error)")
            let scale = reference.scalars.map(abs).max() ?? 1
            let worst = zip(got.scalars, reference.scalars).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 0.02 * max(scale, 1e-3), "\(Self.names[index]): largest difference \(worst) at scale \(scale)")
        }
    }

    @Test(.enabled(if: ComputePrecision.bf16IsNative, "oneDNN has no native bf16 on this CPU (or ONEDNN_MAX_CPU_ISA caps it)"))
    func theBackwardPassesRunInTheForwardPassesPrecision() throws {
        // The graph is built in bf16 and differentiated outside that scope: the gradients
        // are still bf16's, as when a training step's backward runs elsewhere.
        let c = Self.wide[0]
        let inside = try ComputePrecision.run(in: .bf16) { try c.run().results }
        let x = leaf(deterministicFill([3, c.inChannels, 11, 10], seed: 1))
        let weight = leaf(deterministicFill([c.outChannels, c.inChannels, c.kernel, c.kernel], seed: 2, scale: 0.3))
        let bias = leaf(deterministicFill([c.outChannels], seed: 3, scale: 0.1))
        let y = try ComputePrecision.run(in: .bf16) {
            try Tensor.convolution2d(x, weight: weight, bias: bias, stride: c.stride, padding: c.padding)
        }
        try project(y, deterministicFill(y.shape, seed: 4)).backward()
        #expect(try #require(x.grad).scalars == inside[1].scalars)
        #expect(try #require(weight.grad).scalars == inside[2].scalars)
    }

    @Test(.enabled(if: ComputePrecision.bf16IsNative, "oneDNN has no native bf16 on this CPU (or ONEDNN_MAX_CPU_ISA caps it)"))
    func aFloat32ToBF16ReorderIsNotTakenForAFloat32One() throws {
        // The reorder cache's key names the data type: the same layouts in float32 and in
        // bf16 are two primitives.
        let x = deterministicFill([2, 16, 5, 5], seed: 5)
        let blocked = MemoryDescriptor(shape: x.shape, tag: dnnl_aBcd16b)
        let float32 = try DNNL.reorder(x, to: blocked)
        let bf16 = try DNNL.reorder(x, to: MemoryDescriptor(shape: x.shape, tag: dnnl_aBcd16b, dataType: dnnl_bf16))
        #expect(float32.scalars == x.scalars)
        #expect(try bf16.scalars == Self.roundedToBF16(x).scalars)
        #expect(bf16.memoryDescriptor.byteCount == x.count * 2)
    }

    @Test(.enabled(if: !ComputePrecision.bf16IsNative, "oneDNN runs native bf16 here; the refusal is checked where it does not"))
    func refusesBF16WithoutNativeSupport() throws {
        let x = deterministicFill([2, 16, 6, 6], seed: 1)
        let weight = deterministicFill([16, 16, 3, 3], seed: 2)
        do {
            _ = try ComputePrecision.run(in: .bf16) { try Tensor.convolution2d(x, weight: weight, padding: 1) }
            Issue.record("a bf16 convolution ran on \(ComputePrecision.isaName)")
        } catch let error as TensorError {
            #expect("\(error)".contains("AVX512-BF16") && "\(error)".contains(ComputePrecision.isaName), "\(error)")
        }
    }
}
