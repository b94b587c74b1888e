@testable import MOCCACore
import MOCCATestSupport
import Testing

/// The inference-only ops that evaluation-mode passes fuse into: convolutions with a oneDNN
/// eltwise post-op, folding a per-channel affine map into a convolution's weights, and max
/// pooling with BatchNorm and LeakyReLU applied to the pooled values. Each must agree with
/// the separate ops it replaces to float32 rounding.
@Suite("Inference fusion ops")
struct InferenceFusionOpTests {
    /// The shapes of ``ChannelPoorConvolutionTests``.
    typealias Case = ChannelPoorConvolutionTests.Case

    /// The CIFAR-10 LeNet's wide layers and a strided one, then every channel-poor shape
    /// (MNIST's layers, image ends).
    static let cases: [Case] = [
        Case(transposed: false, inChannels: 32, outChannels: 64, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: true),
        Case(transposed: true, inChannels: 64, outChannels: 32, kernel: 5, stride: 1, padding: 2, outputPadding: 0, bias: false),
        Case(transposed: true, inChannels: 16, outChannels: 16, kernel: 5, stride: 2, padding: 2, outputPadding: 1, bias: true),
        Case(transposed: false, inChannels: 16, outChannels: 32, kernel: 3, stride: 2, padding: 1, outputPadding: 0, bias: false),
    ] + ChannelPoorConvolutionTests.cases

    /// The cases that have an inference kernel: every convolution that is not transposed.
    static var convolutions: [Case] { cases.filter { !$0.transposed } }

    static let activations: [FusedActivation?] = [nil, .leakyRelu(slope: 0.01), .sigmoid]

    func operands(_ c: Case) -> (x: Tensor, weight: Tensor, bias: Tensor?) {
        let weightShape = c.transposed ? [c.inChannels, c.outChannels, c.kernel, c.kernel] : [c.outChannels, c.inChannels, c.kernel, c.kernel]
        return (deterministicFill([3, c.inChannels, 12, 10], seed: 1),
                deterministicFill(weightShape, seed: 2, scale: 0.3),
                c.bias ? deterministicFill([c.outChannels], seed: 3, scale: 0.5) : nil)
    }

    func convolution(_ c: Case, _ x: Tensor, _ weight: Tensor, _ bias: Tensor?) throws -> Tensor {
        c.transposed
            ? try Tensor.convolutionTranspose2d(x, weight: weight, bias: bias, stride: c.stride, padding: c.padding, outputPadding: c.outputPadding)
            : try Tensor.convolution2d(x, weight: weight, bias: bias, stride: c.stride, padding: c.padding)
    }

    @Test(arguments: convolutions)
    func inferenceKernelsMatchTheTrainingPassAndActivation(_ c: Case) throws {
        let (x, weight, bias) = operands(c)
        for activation in Self.activations {
            let fused = try withoutGradients {
                try Tensor.inferenceConvolution2d(x, weight: weight, bias: bias, stride: c.stride, padding: c.padding, activation: activation)
            }
            let reference = try convolution(c, x, weight, bias).activated(activation)
            #expect(fused.shape == reference.shape)
            // Sums of hundreds of products: near-zero outputs differ by the rounding of the largest.
            let magnitude = reference.scalars.map(abs).max() ?? 1
            #expect(closeness(fused, reference, rtol: 1e-5, atol: 1e-6 * magnitude) <= 1, "\(String(describing: activation))")
            // The channel-poor layout rule holds here too (1×1 kernels with a wide side keep
            // oneDNN's padded choice, measured faster).
            let rerouted = ConvolutionLayoutChoice.candidates(
                inChannels: c.inChannels, outChannels: c.outChannels, kernelArea: c.kernel * c.kernel) != [.automatic]
            if rerouted {
                #expect(!fused.memoryDescriptor.padsDimension(below: ConvolutionLayoutChoice.poorChannels), "a channel-poor output is padded")
            }
        }
    }

    /// Folding holds for both kinds of weight layout; a transposed convolution runs its
    /// folded weights on the ordinary kernel.
    @Test(arguments: cases)
    func foldedAffineMatchesConvolutionThenAffine(_ c: Case) throws {
        let (x, weight, bias) = operands(c)
        // Some scales negative: folding has no sign restriction.
        let scale: [Float] = (0..<c.outChannels).map { o in
            let magnitude = Float(0.5 + 0.1 * Double(o % 7))
            return o % 5 == 4 ? -magnitude : magnitude
        }
        let shift: [Float] = (0..<c.outChannels).map { o in Float(0.3 * Double(o % 3) - 0.2) }
        let folded = try Tensor.foldingChannelAffine(weight: weight, bias: bias, outputAxis: c.transposed ? 1 : 0, scale: scale, shift: shift)
        let fused = try withoutGradients {
            c.transposed
                ? try convolution(c, x, folded.weight, folded.bias)
                : try Tensor.inferenceConvolution2d(x, weight: folded.weight, bias: folded.bias, stride: c.stride, padding: c.padding)
        }
        let y = try convolution(c, x, weight, bias)
        let plane = y.shape[2] * y.shape[3]
        let values: [Float] = y.scalars.enumerated().map { index, v in
            let channel = index / plane % c.outChannels
            return v * scale[channel] + shift[channel]
        }
        let reference = try Tensor(shape: y.shape, scalars: values)
        let magnitude = reference.scalars.map(abs).max() ?? 1
        #expect(closeness(fused, reference, rtol: 1e-5, atol: 1e-6 * magnitude) <= 1)
    }

    /// A stride-1 transposed convolution is the convolution with the rearranged weight.
    @Test(arguments: cases.filter { $0.transposed && $0.stride == 1 })
    func strideOneTransposedConvolutionIsAConvolution(_ c: Case) throws {
        let (x, weight, bias) = operands(c)
        let reference = try convolution(c, x, weight, bias)
        let converted = try Tensor.convolutionWeight(ofTransposed: weight)
        #expect(converted.shape == [c.outChannels, c.inChannels, c.kernel, c.kernel])
        let y = try withoutGradients {
            try Tensor.inferenceConvolution2d(x, weight: converted, bias: bias, padding: c.kernel - 1 - c.padding)
        }
        let magnitude = reference.scalars.map(abs).max() ?? 1
        #expect(closeness(y, reference, rtol: 1e-5, atol: 1e-6 * magnitude) <= 1)
    }

    @Test func refusesToRecordGradients() throws {
        let x = leaf(deterministicFill([2, 3, 8, 8], seed: 1))
        let weight = deterministicFill([8, 3, 3, 3], seed: 2)
        #expect(throws: TensorError.self) { try Tensor.inferenceConvolution2d(x, weight: weight, padding: 1) }
        #expect(throws: TensorError.self) {
            try Tensor.maxPool2dChannelAffineLeakyRelu(x, kernelSize: 2, center: [0, 0, 0], scale: [1, 1, 1], shift: [0, 0, 0], slope: 0.01)
        }
        // Without gradients the same inputs are fine.
        _ = try withoutGradients { try Tensor.inferenceConvolution2d(x, weight: weight, padding: 1) }
    }

    @Test func foldingChecksItsCounts() {
        let weight = deterministicFill([4, 2, 3, 3], seed: 1)
        #expect(throws: TensorError.self) {
            try Tensor.foldingChannelAffine(weight: weight, bias: nil, outputAxis: 1, scale: [1, 1, 1, 1], shift: [0, 0, 0, 0])
        }
        #expect(throws: TensorError.self) {
            try Tensor.foldingChannelAffine(weight: weight, bias: Tensor(zeros: [2]), outputAxis: 0, scale: [1, 1, 1, 1], shift: [0, 0, 0, 0])
        }
    }

    /// BatchNorm, max pooling and LeakyReLU as separate passes, in the networks' order.
    func separate(_ x: Tensor, mean: Tensor, variance: Tensor, gamma: Tensor?, beta: Tensor?, epsilon: Float) throws -> Tensor {
        try Tensor.maxPool2d(Tensor.batchNormalization(x, scale: gamma, shift: beta, runningMean: mean, runningVariance: variance,
                                                       training: false, epsilon: epsilon), kernelSize: 2).leakyRelu(slope: 0.01)
    }

    /// Inputs of 3 and 4 channels (a channel-poor convolution hands them on plain or
    /// channels-last), 20 (blocked, the last block padded) and 32, in the layout a
    /// convolution hands on.
    @Test(arguments: [3, 4, 20, 32])
    func pooledAffineMatchesBatchNormPoolAndLeakyRelu(channels: Int) throws {
        let x = try withoutGradients {
            try Tensor.convolution2d(deterministicFill([3, 5, 12, 8], seed: 1), weight: deterministicFill([channels, 5, 3, 3], seed: 2, scale: 0.4), padding: 1)
        }
        let mean = deterministicFill([channels], seed: 3, scale: 0.5)
        let variance = try Tensor(shape: [channels], scalars: (0..<channels).map { 0.2 + Float($0 % 5) * 0.3 })
        let gamma = try Tensor(shape: [channels], scalars: (0..<channels).map { 0.5 + Float($0 % 4) * 0.25 })
        let beta = deterministicFill([channels], seed: 4, scale: 0.3)
        let epsilon: Float = 1e-4
        let m = mean.scalars, v = variance.scalars, g = gamma.scalars
        let scale = (0..<channels).map { g[$0] / (v[$0] + epsilon).squareRoot() }
        let fused = try withoutGradients {
            try Tensor.maxPool2dChannelAffineLeakyRelu(x, kernelSize: 2, center: m, scale: scale, shift: beta.scalars, slope: 0.01)
        }
        let reference = try separate(x, mean: mean, variance: variance, gamma: gamma, beta: beta, epsilon: epsilon)
        #expect(fused.shape == reference.shape)
        #expect(closeness(fused, reference, rtol: 1e-6, atol: 1e-6) <= 1)
        // Without γ and β (the LeNets' BatchNorms).
        let plainScale = v.map { 1 / ($0 + epsilon).squareRoot() }
        let bare = try withoutGradients {
            try Tensor.maxPool2dChannelAffineLeakyRelu(x, kernelSize: 2, center: m, scale: plainScale,
                                                       shift: [Float](repeating: 0, count: channels), slope: 0.01)
        }
        let bareReference = try separate(x, mean: mean, variance: variance, gamma: nil, beta: nil, epsilon: epsilon)
        #expect(closeness(bare, bareReference, rtol: 1e-6, atol: 1e-6) <= 1)
    }
}
