import CDNNL
@testable import MOCCACore
import MOCCATestSupport
import Testing

/// A transposed convolution of a nearest ×2 upsampled input, run as four phase kernels on
/// the input's grid: the same values and gradients as upsampling and then convolving.
@Suite("Upsampled transposed convolution by phases")
struct UpsampledConvolutionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let inChannels, outChannels, kernel: Int
        let bias: Bool
        var testDescription: String { "\(inChannels)→\(outChannels) \(kernel)×\(kernel)\(bias ? " bias" : "")" }
    }

    /// The CIFAR-10 decoder's three upsampled layers (128 → 64, 64 → 32, 32 → 3), a 7×7
    /// kernel, and channel-poor sides (MNIST-like), with and without bias.
    static let cases = [
        Case(inChannels: 128, outChannels: 64, kernel: 5, bias: false),
        Case(inChannels: 64, outChannels: 32, kernel: 5, bias: true),
        Case(inChannels: 32, outChannels: 3, kernel: 5, bias: false),
        Case(inChannels: 16, outChannels: 16, kernel: 7, bias: true),
        Case(inChannels: 2, outChannels: 4, kernel: 5, bias: true),
        Case(inChannels: 8, outChannels: 1, kernel: 5, bias: false),
    ]

    func operands(_ c: Case) -> (x: Tensor, weight: Tensor, bias: Tensor?) {
        (deterministicFill([3, c.inChannels, 6, 5], seed: 1),
         deterministicFill([c.inChannels, c.outChannels, c.kernel, c.kernel], seed: 2, scale: 0.3),
         c.bias ? deterministicFill([c.outChannels], seed: 3, scale: 0.5) : nil)
    }

    func reference(_ x: Tensor, _ weight: Tensor, _ bias: Tensor?, padding: Int) throws -> Tensor {
        try Tensor.convolutionTranspose2d(Tensor.upsampleNearest2d(x, factor: 2), weight: weight, bias: bias, padding: padding)
    }

    @Test(arguments: cases)
    func valuesAndGradientsMatchUpsamplingThenConvolving(_ c: Case) throws {
        let padding = (c.kernel - 1) / 2
        var results: [(output: Tensor, gradients: [Tensor])] = []
        for phased in [true, false] {
            let (x, weight, bias) = operands(c)
            let leaves = [x, weight] + (bias.map { [$0] } ?? [])
            for leaf in leaves { leaf.requiresGrad = true }
            let output = phased
                ? try Tensor.nearestUpsampledConvolutionTranspose2d(x, weight: weight, bias: bias, padding: padding)
                : try reference(x, weight, bias, padding: padding)
            try output.backward(seed: deterministicFill(output.shape, seed: 4))
            results.append((output, try leaves.map { try #require($0.grad) }))
        }
        let (phased, upsampled) = (results[0], results[1])
        #expect(phased.output.shape == [3, c.outChannels, 12, 10])
        // Sums of up to 25·C_in products in another order: compare against the largest value.
        func expectClose(_ a: Tensor, _ b: Tensor, _ what: String) {
            let magnitude = b.scalars.map(abs).max() ?? 1
            #expect(closeness(a, b, rtol: 1e-5, atol: 2e-6 * magnitude) <= 1, "\(what)")
        }
        expectClose(phased.output, upsampled.output, "output")
        for (name, (a, b)) in zip(["input", "weight", "bias"], zip(phased.gradients, upsampled.gradients)) {
            expectClose(a, b, "\(name) gradient")
        }
    }

    @Test func phasesApplyOnlyWhereTheyCutMultiplyAdds() throws {
        let five = try #require(UpsamplingPhases(kernelSize: 5, padding: 2))
        #expect(five.phaseKernelSize == 3 && five.padding == 1)
        // Row parity 0 reads input rows m+1, m, m, m−1, m−1 for taps 0…4; parity 1 reads m+1, m+1, m, m, m−1.
        #expect(five.tap == [[2, 1, 1, 0, 0], [2, 2, 1, 1, 0]])
        let seven = try #require(UpsamplingPhases(kernelSize: 7, padding: 3))
        #expect(seven.phaseKernelSize == 5 && seven.padding == 2)
        #expect(UpsamplingPhases(kernelSize: 3, padding: 1) == nil, "3×3 phase kernels: no fewer multiply-adds")
        #expect(UpsamplingPhases(kernelSize: 5, padding: 3) == nil, "not size-preserving")
        #expect(UpsamplingPhases(kernelSize: 4, padding: 1) == nil, "even kernel")
    }

    @Test func otherGeometriesUpsampleAndConvolve() throws {
        // MNIST's middle layer: padding 3 shrinks the output, so no phase split applies.
        let x = deterministicFill([2, 4, 7, 7], seed: 5), weight = deterministicFill([4, 8, 5, 5], seed: 6, scale: 0.3)
        let output = try Tensor.nearestUpsampledConvolutionTranspose2d(x, weight: weight, padding: 3)
        #expect(output.shape == [2, 8, 12, 12])
        #expect(closeness(output, try reference(x, weight, nil, padding: 3), rtol: 1e-6, atol: 1e-7) <= 1)
    }

    @Test func phaseKernelsSumTheTapsThatShareAnInputPixel() throws {
        // One input and one output channel, weight w[u][v] = 10·u + v.
        let weight = try Tensor(shape: [1, 1, 5, 5], scalars: (0..<25).map { Float(10 * ($0 / 5) + $0 % 5) })
        let kernels = try Tensor.phaseKernels(ofTransposed: weight, phases: #require(UpsamplingPhases(kernelSize: 5, padding: 2)))
        #expect(kernels.shape == [4, 1, 3, 3])
        // Phase (0, 0): kernel row 2 takes tap row 0, row 1 takes rows 1 and 2, row 0 rows 3
        // and 4; the same for columns. Entry (1, 1) sums rows {1, 2} × columns {1, 2}.
        let k = kernels.scalars
        #expect(k[0 * 9 + 2 * 3 + 2] == 0)
        #expect(k[0 * 9 + 1 * 3 + 1] == Float(11 + 12 + 21 + 22))
        #expect(k[0 * 9 + 0 * 3 + 0] == Float(33 + 34 + 43 + 44))
        // Phase (1, 1): row 2 takes tap rows 0 and 1, row 0 takes row 4.
        #expect(k[3 * 9 + 2 * 3 + 2] == Float(0 + 1 + 10 + 11))
        #expect(k[3 * 9 + 0 * 3 + 0] == 44)
        // Every phase holds every tap once.
        let total = weight.scalars.reduce(0, +)
        for phase in 0..<4 { #expect(k[(phase * 9)..<(phase * 9 + 9)].reduce(0, +) == total) }
    }

    @Test func phasesInterleaveIntoPixels() throws {
        // Channels (2a + b)·C + c with C = 2: value 10·channel + pixel.
        let x = try Tensor(shape: [1, 8, 1, 2], scalars: (0..<16).map { Float(10 * ($0 / 2) + $0 % 2) })
        let y = try Tensor.phasesToSpace(x)
        #expect(y.shape == [1, 2, 2, 4])
        // Channel 0: row 0 alternates phases (0,0) and (0,1) = channels 0 and 2; row 1 channels 4 and 6.
        #expect(Array(y.scalars[0..<8]) == [0, 20, 1, 21, 40, 60, 41, 61])
        #expect(Array(y.scalars[8..<16]) == [10, 30, 11, 31, 50, 70, 51, 71])
        #expect(throws: TensorError.self) { try Tensor.phasesToSpace(Tensor(zeros: [1, 6, 2, 2])) }
    }

    /// Channel-blocked (by the CPU's block: 16 with AVX-512, 8 with AVX2), channels-last, and
    /// a blocked layout whose phases split a block (made plain): each the plain result, in
    /// values and gradients, and the output keeps the input's layout where it can.
    @Test(arguments: [(64, false), (64, true), (12, false)])
    func everyLayoutInterleavesAsPlain(channels: Int, channelsLast: Bool) throws {
        let plain = deterministicFill([2, channels, 3, 4], seed: 7)
        let laidOut: Tensor
        if !channelsLast {
            // A 1×1 identity convolution hands on oneDNN's blocked layout.
            let identity = try Tensor(shape: [channels, channels, 1, 1],
                                      scalars: (0..<(channels * channels)).map { $0 % (channels + 1) == 0 ? 1 : 0 })
            laidOut = try withoutGradients { try Tensor.convolution2d(plain, weight: identity) }
            #expect(!laidOut.isPlain)
        } else {
            laidOut = try DNNL.reorder(plain, to: MemoryDescriptor(shape: plain.shape, tag: dnnl_acdb))
        }
        let expected = try Tensor.phasesToSpace(plain)
        laidOut.requiresGrad = true
        let output = try Tensor.phasesToSpace(laidOut)
        #expect(output.scalars == expected.scalars)
        if channels == 64 { #expect(!output.isPlain, "the layout is kept") }
        let seed = deterministicFill(output.shape, seed: 8)
        try output.backward(seed: seed)
        let gradient = try #require(laidOut.grad)
        // The inverse rearrangement: the gradient at (channel, m, j) is the seed at its pixel.
        let g = gradient.scalars, s = seed.scalars, c = channels / 4
        for channel in [0, 5, channels - 1] {
            let (phase, inner) = channel.quotientAndRemainder(dividingBy: c)
            let (a, b) = phase.quotientAndRemainder(dividingBy: 2)
            for n in 0..<2 {
                #expect(g[((n * channels + channel) * 3 + 2) * 4 + 1] == s[((n * c + inner) * 6 + 2 * 2 + a) * 8 + 2 * 1 + b])
            }
        }
    }
}
