@testable import MOCCACore
import MOCCATestSupport
import Testing

/// Convolutions with fewer than 8 channels on a side ask oneDNN for unpadded layouts
/// (`ConvolutionLayoutChoice`); their results must match oneDNN's padded, blocked path
/// to float rounding, forward and backward, on every ISA.
@Suite("Channel-poor convolutions")
struct ChannelPoorConvolutionTests {
    typealias Case = ConvolutionCase

    static let cases: [Case] = [
        // Conv with 1 or 3 channels on the input side (grey or RGB images) and the output side.
        Case(transposed: false, inChannels: 1, outChannels: 32, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: false, inChannels: 3, outChannels: 32, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: true),
        Case(transposed: false, inChannels: 32, outChannels: 1, kernel: 3, stride: 1, padding: 1, outputPadding: 0, bias: true),
        Case(transposed: false, inChannels: 32, outChannels: 3, kernel: 5, stride: 2, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: false, inChannels: 32, outChannels: 3, kernel: 1, stride: 1, padding: 0, outputPadding: 0, bias: false),
        // Transposed conv: the CIFAR decoder's last layer (32 → 3) and its mirrors.
        Case(transposed: true, inChannels: 32, outChannels: 3, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 32, outChannels: 1, kernel: 5, stride: 2, padding: 2, outputPadding: 1, bias: true),
        Case(transposed: true, inChannels: 1, outChannels: 32, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: true),
        Case(transposed: true, inChannels: 3, outChannels: 32, kernel: 3, stride: 1, padding: 1, outputPadding: 0, bias: false),
        // Both sides narrow (the MNIST network): channels-last.
        Case(transposed: false, inChannels: 8, outChannels: 4, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: false, inChannels: 1, outChannels: 8, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 4, outChannels: 8, kernel: 5, stride: 1, padding: 3, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 8, outChannels: 1, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: true),
        Case(transposed: true, inChannels: 3, outChannels: 3, kernel: 3, stride: 1, padding: 1, outputPadding: 0, bias: false),
    ]

    /// Output, input gradient, weight gradient and (if any) bias gradient, and whether the
    /// output's layout pads a dimension below 8.
    func run(_ c: Case) throws -> (results: [Tensor], paddedOutput: Bool) {
        let run = try c.run()
        return (run.results, run.output.memoryDescriptor.padsDimension(below: ConvolutionLayoutChoice.poorChannels))
    }

    @Test(arguments: cases)
    func matchesThePaddedPath(_ c: Case) throws {
        let unpadded = try run(c)
        let padded = try ConvolutionLayoutChoice.$enabled.withValue(false) { try run(c) }
        // 1×1 kernels with a wide side keep oneDNN's padded choice (measured faster).
        let rerouted = ConvolutionLayoutChoice.candidates(
            inChannels: c.inChannels, outChannels: c.outChannels, kernelArea: c.kernel * c.kernel) != [.automatic]
        if rerouted { #expect(!unpadded.paddedOutput, "the output of a channel-poor convolution is still padded") }
        let names = Case.resultNames
        #expect(unpadded.results.count == padded.results.count)
        for (index, (new, old)) in zip(unpadded.results, padded.results).enumerated() {
            let scale = old.scalars.map(abs).max() ?? 1
            let distance = closeness(new, old, rtol: 1e-4, atol: 1e-5 * max(scale, 1e-3))
            #expect(distance <= 1, "\(names[index]) differs from the padded path: \(distance) tolerances")
        }
    }

    @Test func onlyChannelPoorConvolutionsGetOtherRequests() {
        #expect(ConvolutionLayoutChoice.candidates(inChannels: 16, outChannels: 8, kernelArea: 25) == [.automatic])
        #expect(ConvolutionLayoutChoice.candidates(inChannels: 32, outChannels: 3, kernelArea: 25).dropFirst().first == .plainNarrowSide)
        #expect(ConvolutionLayoutChoice.candidates(inChannels: 8, outChannels: 4, kernelArea: 25).dropFirst().first == .channelsLast)
        #expect(ConvolutionLayoutChoice.candidates(inChannels: 32, outChannels: 3, kernelArea: 1) == [.automatic])
        ConvolutionLayoutChoice.$enabled.withValue(false) {
            #expect(ConvolutionLayoutChoice.candidates(inChannels: 32, outChannels: 3, kernelArea: 25) == [.automatic])
        }
    }
}
