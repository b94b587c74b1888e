import MOCCACore
import MOCCATestSupport
import Testing

/// bf16 3-D convolutions (the video network's): every pass reads bf16 operands and
/// accumulates and writes float32, as the 2-D ones do (``BF16ConvolutionTests``). Checked
/// against float32 on the same operands rounded to bf16 first, where oneDNN runs native bf16.
@Suite("bf16 3-D convolutions")
struct BF16Convolution3DTests {
    /// The video encoder's causal downsampling block and the decoder's upsampling one, at
    /// widths oneDNN runs on its bf16 JIT kernels.
    enum Case: CaseIterable, CustomStringConvertible {
        case causalSpatialStrideTwo, transposedStrideTwo

        var description: String { self == .causalSpatialStrideTwo ? "causal conv 16->32 (1,2,2)" : "transposed conv 32->16 5x5x5 stride 2" }

        /// Output, input gradient, weight gradient and bias gradient, with the operands a
        /// bf16 pass rounds (input, weight, output gradient; not the bias) passed through
        /// `prepare` first.
        func run(prepare: (Tensor) throws -> Tensor = { $0 }) throws -> [Tensor] {
            let transposed = self == .transposedStrideTwo
            let (inChannels, outChannels) = transposed ? (32, 16) : (16, 32)
            let kernel = transposed ? 5 : 3
            let weightShape = transposed ? [inChannels, outChannels, kernel, kernel, kernel] : [outChannels, inChannels, kernel, kernel, kernel]
            let x = leaf(try prepare(deterministicFill([2, inChannels, 4, 6, 6], seed: 1)))
            let weight = leaf(try prepare(deterministicFill(weightShape, seed: 2, scale: 0.2)))
            let bias = leaf(deterministicFill([outChannels], seed: 3, scale: 0.1))
            let y = transposed
                ? try Tensor.convolutionTranspose3d(x, weight: weight, bias: bias, stride: 2, padding: 2, outputPadding: 1)
                : try Tensor.convolution3d(x, weight: weight, bias: bias, stride: [1, 2, 2], padding: [0, 1, 1], causal: true)
            try y.backward(seed: try prepare(deterministicFill(y.shape, seed: 4)))
            return [try y.plain(), try #require(x.grad), try #require(weight.grad), try #require(bias.grad)]
        }
    }

    @Test(.enabled(if: ComputePrecision.bf16IsNative, "oneDNN has no native bf16 on this CPU (or ONEDNN_MAX_CPU_ISA caps it)"),
          arguments: Case.allCases)
    func roundsTheOperandsAndAccumulatesInFloat32(_ c: Case) throws {
        let bf16 = try ComputePrecision.run(in: .bf16) { try c.run() }
        let emulated = try c.run(prepare: BF16ConvolutionTests.roundedToBF16)
        let exact = try c.run()
        for (index, (got, reference)) in zip(bf16, emulated).enumerated() {
            let scale = reference.scalars.map(abs).max() ?? 1
            let distance = closeness(got, reference, rtol: 1e-4, atol: 1e-5 * max(scale, 1e-3))
            #expect(distance <= 1, "result \(index) differs from float32 on bf16-rounded operands: \(distance) tolerances")
        }
        // And bf16 did run, in every pass: no result is float32's.
        for (got, float32) in zip(bf16, exact) { #expect(got.scalars != float32.scalars) }
    }
}
