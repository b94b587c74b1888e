import MOCCACore
import MOCCATestSupport
import Testing

/// Finite-difference checks of the video model's 3-D ops, with the helper, step and
/// tolerances of ``GradientCheckTests`` (the same float32 argument holds: the outputs here
/// have at most 256 elements, so the rounding noise of the numeric derivative stays below
/// about 8e-5, within `atol`). Inputs with more than 30 elements are checked on 30 sampled
/// ones. Measured (2026-12-01, AVX-512 host, natively and capped at AVX2): the largest ratio
/// to the tolerance is 0.14 (the causal convolution's input gradient).
extension GradientCheckTests {
    // MARK: 3-D convolutions

    @Test func convolution3dStrideOneWithPaddingAndBias() throws {
        try checkGradients([random([1, 2, 3, 4, 4], seed: 300), random([3, 2, 3, 3, 3], seed: 301), random([3], seed: 302)]) {
            try Tensor.convolution3d($0[0], weight: $0[1], bias: $0[2], padding: 1)
        }
    }

    /// The video encoder's spatial downsampling: frames halved, frame count kept.
    @Test func convolution3dSpatialStrideTwoWithoutBias() throws {
        try checkGradients([random([2, 2, 3, 5, 5], seed: 303), random([3, 2, 3, 3, 3], seed: 304)]) {
            try Tensor.convolution3d($0[0], weight: $0[1], stride: [1, 2, 2], padding: 1)
        }
    }

    @Test func convolution3dStrideTwoOnEveryAxisUnevenSizes() throws {
        try checkGradients([random([1, 2, 5, 4, 6], seed: 305), random([2, 2, 3, 3, 3], seed: 306), random([2], seed: 307)]) {
            try Tensor.convolution3d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1)
        }
    }

    /// Causal padding (two zero frames before, none after) is asymmetric in oneDNN; its
    /// backward passes must use the same asymmetric padding.
    @Test func causalConvolution3d() throws {
        try checkGradients([random([1, 2, 4, 3, 3], seed: 308), random([3, 2, 3, 3, 3], seed: 309), random([3], seed: 310)]) {
            try Tensor.convolution3d($0[0], weight: $0[1], bias: $0[2], padding: [0, 1, 1], causal: true)
        }
    }

    @Test func causalConvolution3dWithTimeStrideTwo() throws {
        try checkGradients([random([1, 2, 5, 3, 3], seed: 311), random([2, 2, 3, 3, 3], seed: 312)]) {
            try Tensor.convolution3d($0[0], weight: $0[1], stride: [2, 1, 1], padding: [0, 1, 1], causal: true)
        }
    }

    // MARK: 3-D transposed convolutions

    @Test func transposedConvolution3dFiveCubedStrideTwoWithOutputPaddingAndBias() throws {
        try checkGradients([random([1, 2, 2, 2, 2], seed: 313), random([2, 2, 5, 5, 5], seed: 314, in: -0.3...0.3), random([2], seed: 315)]) {
            try Tensor.convolutionTranspose3d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 2, outputPadding: 1)
        }
    }

    @Test func transposedConvolution3dSpatialStrideTwoWithoutBias() throws {
        try checkGradients([random([1, 2, 2, 2, 2], seed: 316), random([2, 3, 5, 5, 5], seed: 317, in: -0.3...0.3)]) {
            try Tensor.convolutionTranspose3d($0[0], weight: $0[1], stride: [1, 2, 2], padding: 2, outputPadding: [0, 1, 1])
        }
    }

    /// A 1×1×1 stride-2 shortcut: output padding above the padding (a negative right padding in oneDNN).
    @Test func transposedConvolution3dOneByOneByOne() throws {
        try checkGradients([random([2, 3, 2, 2, 2], seed: 318), random([3, 2, 1, 1, 1], seed: 319), random([2], seed: 320)]) {
            try Tensor.convolutionTranspose3d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 0, outputPadding: 1)
        }
    }

    // MARK: 3-D batch normalisation and tanh

    @Test func batchNorm3dTrainingAffine() throws {
        let (mean, variance) = (Tensor(zeros: [3]), Tensor(repeating: 1, shape: [3]))
        try checkGradients([random([2, 3, 2, 2, 3], seed: 321, in: -2...2), random([3], seed: 322, in: 0.5...1.5), random([3], seed: 323)]) {
            try Tensor.batchNormalization($0[0], scale: $0[1], shift: $0[2], runningMean: mean,
                                          runningVariance: variance, training: true)
        }
    }

    @Test func batchNorm3dTrainingWithoutAffine() throws {
        let (mean, variance) = (Tensor(zeros: [3]), Tensor(repeating: 1, shape: [3]))
        try checkGradients([random([2, 3, 2, 2, 3], seed: 324, in: -2...2)]) {
            try Tensor.batchNormalization($0[0], scale: nil, shift: nil, runningMean: mean,
                                          runningVariance: variance, training: true, epsilon: 1e-4)
        }
    }

    @Test func batchNorm3dEvaluationAffine() throws {
        let mean = try Tensor(shape: [3], scalars: [0.2, -0.1, 0.4])
        let variance = try Tensor(shape: [3], scalars: [0.5, 1.5, 2.0])
        try checkGradients([random([2, 3, 2, 2, 2], seed: 325, in: -2...2), random([3], seed: 326, in: 0.5...1.5), random([3], seed: 327)]) {
            try Tensor.batchNormalization($0[0], scale: $0[1], shift: $0[2], runningMean: mean,
                                          runningVariance: variance, training: false)
        }
        #expect(mean.scalars == [0.2, -0.1, 0.4])
        #expect(variance.scalars == [0.5, 1.5, 2.0])
    }

    /// BatchNorm and tanh on the blocked 5-D layout a 3-D convolution hands on (10 channels
    /// leave a padded second block).
    @Test func batchNormAndTanhOnTheBlocked3dLayout() throws {
        let channels = 10
        let identity = try Tensor(shape: [channels, channels, 1, 1, 1],
                                  scalars: (0..<(channels * channels)).map { $0 % (channels + 1) == 0 ? 1 : 0 })
        let (mean, variance) = (Tensor(zeros: [channels]), Tensor(repeating: 1, shape: [channels]))
        try checkGradients([random([2, channels, 2, 2, 2], seed: 328, in: -2...2)]) {
            let y = try Tensor.convolution3d($0[0], weight: identity)
            return try Tensor.batchNormalization(y, scale: nil, shift: nil, runningMean: mean,
                                                 runningVariance: variance, training: true).tanh()
        }
    }

    @Test func tanh3d() throws {
        try checkGradients([random([1, 2, 2, 3, 3], seed: 329, in: -2...2)]) { try $0[0].tanh() }
    }
}

/// The causal 3-D convolution's defining property, exactly.
@Suite("Causal 3-D convolution")
struct CausalConvolution3DTests {
    /// Perturbing input frame `t₀` must leave every output frame before `t₀` bit-for-bit
    /// unchanged (the zeros that stand in for the future are exact, so no rounding can leak
    /// in), and must change output frame `t₀` (so the check is not vacuous).
    @Test(arguments: [1, 2, 4])
    func laterFramesDoNotReachEarlierOutputs(perturbedFrame: Int) throws {
        var generator = RandomGenerator(seed: 330)
        let x = Tensor.uniform(shape: [2, 3, 5, 4, 4], in: -1...1, using: &generator)
        let weight = Tensor.uniform(shape: [4, 3, 3, 3, 3], in: -0.3...0.3, using: &generator)
        let bias = Tensor.uniform(shape: [4], in: -0.1...0.1, using: &generator)
        let before = try Tensor.convolution3d(x, weight: weight, bias: bias, padding: [0, 1, 1], causal: true).plain()
        #expect(before.shape == [2, 4, 5, 4, 4])
        let perturbed = try x.copy()
        perturbed.withUnsafeMutableBufferPointer { values in
            for n in 0..<2 { for c in 0..<3 { for i in 0..<16 { values[(((n * 3 + c) * 5) + perturbedFrame) * 16 + i] += 0.5 } } }
        }
        let after = try Tensor.convolution3d(perturbed, weight: weight, bias: bias, padding: [0, 1, 1], causal: true).plain()
        let (a, b) = (before.scalars, after.scalars)
        var changedAtFrame = false
        for n in 0..<2 {
            for k in 0..<4 {
                for t in 0..<5 {
                    let range = (((n * 4 + k) * 5) + t) * 16 ..< (((n * 4 + k) * 5) + t + 1) * 16
                    if t < perturbedFrame {
                        #expect(Array(a[range]) == Array(b[range]), "output frame \(t) moved when frame \(perturbedFrame) did")
                    } else if t == perturbedFrame, a[range] != b[range] {
                        changedAtFrame = true
                    }
                }
            }
        }
        #expect(changedAtFrame, "output frame \(perturbedFrame) ignored its own input frame")
    }

    /// Gradients flow only backwards in time: the gradient of output frame `t` reaches
    /// input frames `t − 2 … t` and none after.
    @Test func gradientOfAnEarlyOutputFrameStopsAtThatFrame() throws {
        var generator = RandomGenerator(seed: 331)
        let x = Tensor.uniform(shape: [1, 2, 5, 3, 3], in: -1...1, using: &generator)
        x.requiresGrad = true
        let weight = Tensor.uniform(shape: [2, 2, 3, 3, 3], in: -0.3...0.3, using: &generator)
        let y = try Tensor.convolution3d(x, weight: weight, padding: [0, 1, 1], causal: true)
        // Seed only output frame 2.
        let seed = try Tensor(shape: y.shape, scalars: (0..<y.count).map { ($0 / 9) % 5 == 2 ? 1 : 0 })
        try (y * seed).sum().backward()
        let grad = try #require(x.grad).plain().scalars
        for c in 0..<2 {
            for t in 0..<5 {
                let frame = grad[((c * 5) + t) * 9 ..< ((c * 5) + t + 1) * 9]
                if t > 2 { #expect(frame.allSatisfy { $0 == 0 }, "future frame \(t) received a gradient") }
                else { #expect(frame.contains { $0 != 0 }, "frame \(t) within the window received no gradient") }
            }
        }
    }

    @Test func nonZeroTimePaddingIsRejected() {
        #expect(throws: TensorError.self) {
            _ = try Tensor.convolution3d(Tensor(zeros: [1, 1, 3, 3, 3]), weight: Tensor(zeros: [1, 1, 3, 3, 3]),
                                         padding: 1, causal: true)
        }
    }
}

/// The 3-D ops reject what PyTorch rejects, before any oneDNN work.
@Suite("3-D convolution errors")
struct Convolution3DErrorTests {
    @Test func wrongRankChannelsBiasAndOutputPaddingThrow() {
        let x = Tensor(zeros: [1, 2, 3, 4, 4])
        #expect(throws: TensorError.self) { _ = try Tensor.convolution3d(Tensor(zeros: [1, 2, 4, 4]), weight: Tensor(zeros: [3, 2, 3, 3, 3])) }
        #expect(throws: TensorError.self) { _ = try Tensor.convolution3d(x, weight: Tensor(zeros: [3, 5, 3, 3, 3])) }
        #expect(throws: TensorError.self) { _ = try Tensor.convolution3d(x, weight: Tensor(zeros: [3, 2, 3, 3, 3]), bias: Tensor(zeros: [2])) }
        #expect(throws: TensorError.self) { _ = try Tensor.convolution3d(x, weight: Tensor(zeros: [3, 2, 5, 3, 3])) }
        #expect(throws: TensorError.self) { _ = try Tensor.convolution3d(x, weight: Tensor(zeros: [3, 2, 3, 3, 3]), stride: [0, 1, 1]) }
        // Output padding must stay below the stride on every axis (time stride 1 here).
        #expect(throws: TensorError.self) {
            _ = try Tensor.convolutionTranspose3d(x, weight: Tensor(zeros: [2, 3, 5, 5, 5]), stride: [1, 2, 2], padding: 2, outputPadding: 1)
        }
    }

    @Test func outputSizesFollowPyTorch() throws {
        let x = Tensor(zeros: [1, 2, 3, 4, 5])
        #expect(try Tensor.convolution3d(x, weight: Tensor(zeros: [4, 2, 3, 3, 3]), stride: [1, 2, 2], padding: 1).shape == [1, 4, 3, 2, 3])
        #expect(try Tensor.convolution3d(x, weight: Tensor(zeros: [4, 2, 3, 3, 3]), padding: [0, 1, 1], causal: true).shape == [1, 4, 3, 4, 5])
        #expect(try Tensor.convolutionTranspose3d(x, weight: Tensor(zeros: [2, 4, 5, 5, 5]), stride: 2, padding: 2, outputPadding: 1).shape == [1, 4, 6, 8, 10])
        #expect(try Tensor.convolutionTranspose3d(x, weight: Tensor(zeros: [2, 4, 1, 1, 1]), stride: 2, outputPadding: 1).shape == [1, 4, 6, 8, 10])
    }
}
