@testable import MOCCACore
import MOCCATestSupport
import Testing

/// Central finite-difference checks of every differentiable op in MOCCACore.
///
/// For inputs `x` (leaves) and an op `f`, the objective is `L(x) = Σ f(x) ⊙ r` with a fixed
/// random `r`, so back-propagating `L` seeds `f`'s output gradient with `r` and every
/// element of the output contributes. The analytic gradient from ``Tensor/backward(seed:)``
/// is compared element by element with `(L(x + ε·e_j) − L(x − ε·e_j)) / (2ε)`.
///
/// Tolerance: `|numeric − analytic| ≤ atol + rtol·|analytic|` with `ε = 1e-2`,
/// `atol = 2e-4`, `rtol = 2e-3`. Why these are honest for float32:
/// - Rounding: every output value carries a relative error of a few float32 ulps (~1e-7);
///   `L` is summed in double precision, so the numeric derivative carries about
///   `√n · |y| · 1e-7 / (2ε)` ≈ 5e-6·√n of noise: at most ~7e-5 for the ≤ 200-element
///   outputs used here, which `atol` covers.
/// - Truncation: central differences are exact for the (bi)linear ops and `squared()`;
///   for sigmoid, tanh and batch norm the error is `ε²/6 · |f‴|` ≈ 2e-5·|f‴|, which
///   `rtol` covers.
/// Measured: the largest deviation over all the checks below is 3.0e-5 (convolution weight)
/// and the largest ratio to the tolerance 0.06 (batch norm in training mode), so the bound
/// has a margin of more than 15×, while a genuine backward bug (a wrong factor, a dropped
/// term, a misrouted index) shows up as an error of the order of the gradient itself.
///
/// Non-smooth ops (ReLU, leaky ReLU, max and adaptive max pooling) get inputs whose values
/// are distinct multiples of 0.05 offset by 0.025: every value is at least 0.025 > ε away
/// from the kink at zero, and any two values differ by at least 0.05 > 2ε, so no
/// perturbation crosses a kink or changes which element of a pooling window is the maximum.
@Suite("Gradients match central finite differences")
struct GradientCheckTests {
    static let epsilon: Float = 1e-2
    static let rtol: Float = 2e-3
    static let atol: Float = 2e-4
    /// Elements checked per input at most; larger inputs are sampled.
    static let maxSamples = 30

    /// Checks the gradient of `Σ f(inputs) ⊙ r` with respect to every input against central
    /// differences, on every element of tiny inputs or on `maxSamples` sampled elements.
    /// - Parameter inputs: plain leaves; their values are perturbed in place and restored.
    func checkGradients(
        _ inputs: [Tensor], seed: UInt64 = 1234,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ f: ([Tensor]) throws -> Tensor
    ) throws {
        for input in inputs { input.requiresGrad = true; input.grad = nil }
        var generator = RandomGenerator(seed: seed)

        // Analytic: back-propagate L = Σ y ⊙ r.
        let y = try f(inputs)
        let r = Tensor.uniform(shape: y.shape, in: -1...1, using: &generator)
        let weights = r.scalars.map(Double.init)
        try project(y, r).backward()

        // Numeric: L evaluated in double precision from the float32 outputs.
        func objective() throws -> Double {
            let values = try withoutGradients { try f(inputs) }.scalars
            #expect(values.count == weights.count, sourceLocation: sourceLocation)
            return zip(values, weights).reduce(0) { $0 + Double($1.0) * $1.1 }
        }

        for (index, input) in inputs.enumerated() {
            let grad = try #require(input.grad, "input \(index) received no gradient", sourceLocation: sourceLocation)
            #expect(grad.shape == input.shape, "input \(index): gradient shape", sourceLocation: sourceLocation)
            let analytic = grad.scalars
            let elements = input.count <= Self.maxSamples
                ? Array(0..<input.count)
                : Array(generator.permutation(input.count).prefix(Self.maxSamples)).sorted()
            var worst: (ratio: Float, element: Int, numeric: Double, analytic: Float) = (0, -1, 0, 0)
            for j in elements {
                let original = input.withUnsafeBufferPointer { $0[j] }
                let plus = original + Self.epsilon, minus = original - Self.epsilon
                input.withUnsafeMutableBufferPointer { $0[j] = plus }
                let lPlus = try objective()
                input.withUnsafeMutableBufferPointer { $0[j] = minus }
                let lMinus = try objective()
                input.withUnsafeMutableBufferPointer { $0[j] = original }
                // Divide by the step actually taken in float32.
                let numeric = (lPlus - lMinus) / (Double(plus) - Double(minus))
                let deviation = Float(abs(numeric - Double(analytic[j])))
                let ratio = deviation / (Self.atol + Self.rtol * abs(analytic[j]))
                if ratio > worst.ratio { worst = (ratio, j, numeric, analytic[j]) }
            }
            #expect(worst.ratio <= 1, """
                input \(index) \(input.shape): element \(worst.element) numeric \(worst.numeric) vs analytic \
                \(worst.analytic) (\(worst.ratio)× the tolerance)
                """, sourceLocation: sourceLocation)
            // A check of an all-zero gradient could pass vacuously.
            #expect(analytic.contains { $0 != 0 }, "input \(index): the gradient is all zero", sourceLocation: sourceLocation)
        }
    }

    /// Values uniform in `range`, as a leaf.
    func random(_ shape: [Int], seed: UInt64, in range: ClosedRange<Float> = -1...1) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.uniform(shape: shape, in: range, using: &generator)
    }

    /// Distinct values `(k + 0.5)·0.05` for a random arrangement of `k = −n/2 ..< n/2`: at least
    /// 0.025 from zero and 0.05 from each other.
    func awayFromKinks(_ shape: [Int], seed: UInt64) throws -> Tensor {
        let count = shape.reduce(1, *)
        var generator = RandomGenerator(seed: seed)
        let values = generator.permutation(count).map { (Float($0 - count / 2) + 0.5) * 0.05 }
        return try Tensor(shape: shape, scalars: values)
    }

    // MARK: Arithmetic

    @Test func addSubtractMultiply() throws {
        try checkGradients([random([2, 3], seed: 1), random([2, 3], seed: 2)]) { try $0[0] + $0[1] }
        try checkGradients([random([2, 3], seed: 3), random([2, 3], seed: 4)]) { try $0[0] - $0[1] }
        try checkGradients([random([2, 3], seed: 5), random([2, 3], seed: 6)]) { try $0[0] * $0[1] }
    }

    @Test func scalarScaleAndShift() throws {
        try checkGradients([random([3, 4], seed: 7)]) { try $0[0] * 2.5 }
        try checkGradients([random([3, 4], seed: 8)]) { try $0[0] + 0.7 }
    }

    @Test func squared() throws {
        try checkGradients([random([2, 5], seed: 9, in: -2...2)]) { try $0[0].squared() }
    }

    // MARK: Reductions

    @Test func sumAlongAxes() throws {
        try checkGradients([random([2, 3, 4], seed: 10)]) { try $0[0].sum(alongAxes: [1]) }
        try checkGradients([random([2, 3, 4], seed: 11)]) { try $0[0].sum(alongAxes: [0, 2]) }
        try checkGradients([random([2, 3, 4], seed: 12)]) { try $0[0].sum(alongAxes: [0, 2], keepingShape: true) }
        try checkGradients([random([2, 3, 4], seed: 13)]) { try $0[0].sum(alongAxes: [-1]) }
    }

    @Test func meanAlongAxes() throws {
        try checkGradients([random([2, 3, 4], seed: 14)]) { try $0[0].mean(alongAxes: [1]) }
        try checkGradients([random([2, 3, 4], seed: 15)]) { try $0[0].mean(alongAxes: [0, 2], keepingShape: true) }
    }

    @Test func sumAndMeanOfAllElements() throws {
        try checkGradients([random([3, 4], seed: 16)]) { try $0[0].sum() }
        try checkGradients([random([3, 4], seed: 17)]) { try $0[0].mean() }
    }

    // MARK: Shapes

    @Test func reshapeAndFlatten() throws {
        try checkGradients([random([2, 3, 4], seed: 18)]) { try $0[0].reshaped(to: [4, -1]) }
        try checkGradients([random([2, 3, 2, 2], seed: 19)]) { try $0[0].flattened() }
    }

    @Test func concatenate() throws {
        try checkGradients([random([2, 3], seed: 20), random([2, 1], seed: 21), random([2, 2], seed: 22)]) {
            try Tensor.concatenate($0, alongAxis: 1)
        }
        try checkGradients([random([1, 3], seed: 23), random([2, 3], seed: 24)]) {
            try Tensor.concatenate($0, alongAxis: 0)
        }
    }

    @Test func sliceAlongLeadingAndInnerAxes() throws {
        try checkGradients([random([4, 3], seed: 25)]) { try $0[0].slice(alongAxis: 0, 1..<3) }
        try checkGradients([random([2, 5, 3], seed: 26)]) { try $0[0].slice(alongAxis: 1, 1..<4) }
    }

    // MARK: Linear and convolutions

    @Test func linearWithAndWithoutBias() throws {
        try checkGradients([random([3, 5], seed: 27), random([4, 5], seed: 28), random([4], seed: 29)]) {
            try Tensor.linear($0[0], weight: $0[1], bias: $0[2])
        }
        try checkGradients([random([3, 5], seed: 30), random([4, 5], seed: 31)]) {
            try Tensor.linear($0[0], weight: $0[1])
        }
    }

    @Test func convolutionStrideOneWithPaddingAndBias() throws {
        try checkGradients([random([2, 3, 5, 5], seed: 32), random([4, 3, 3, 3], seed: 33), random([4], seed: 34)]) {
            try Tensor.convolution2d($0[0], weight: $0[1], bias: $0[2], stride: 1, padding: 1)
        }
    }

    @Test func convolutionStrideTwoWithoutBias() throws {
        try checkGradients([random([1, 2, 6, 6], seed: 35), random([3, 2, 3, 3], seed: 36)]) {
            try Tensor.convolution2d($0[0], weight: $0[1], stride: 2, padding: 1)
        }
    }

    @Test func transposedConvolutionStrideTwoWithOutputPaddingAndBias() throws {
        try checkGradients([random([1, 2, 3, 3], seed: 37), random([2, 3, 3, 3], seed: 38), random([3], seed: 39)]) {
            try Tensor.convolutionTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1, outputPadding: 1)
        }
    }

    /// The residual autoencoder's 1×1 stride-2 shortcut: output padding above the padding,
    /// which oneDNN takes as a negative right padding.
    @Test func transposedConvolutionOneByOneWithOutputPaddingAbovePadding() throws {
        try checkGradients([random([2, 3, 3, 3], seed: 142), random([3, 2, 1, 1], seed: 143), random([2], seed: 144)]) {
            try Tensor.convolutionTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 0, outputPadding: 1)
        }
    }

    @Test func convolutionUnpaddedOddSize() throws {
        try checkGradients([random([2, 2, 7, 7], seed: 145), random([3, 2, 3, 3], seed: 146)]) {
            try Tensor.convolution2d($0[0], weight: $0[1], stride: 1, padding: 0)
        }
    }

    @Test func addAcrossMemoryLayouts() throws {
        // A convolution's output is in oneDNN's blocked layout; the other operand is plain.
        let channels = 10
        let identity = try Tensor(shape: [channels, channels, 1, 1], scalars: (0..<(channels * channels)).map { $0 % (channels + 1) == 0 ? 1 : 0 })
        try checkGradients([random([2, channels, 3, 3], seed: 147), random([2, channels, 3, 3], seed: 148)]) {
            try Tensor.convolution2d($0[0], weight: identity) + $0[1]
        }
    }

    @Test func transposedConvolutionStrideOne() throws {
        try checkGradients([random([1, 3, 4, 4], seed: 40), random([3, 2, 3, 3], seed: 41)]) {
            try Tensor.convolutionTranspose2d($0[0], weight: $0[1], padding: 1)
        }
    }

    @Test func upsampledTransposedConvolutionByPhases() throws {
        // Through the phase kernels, the convolution on the input's grid and the interleave.
        try checkGradients([random([1, 2, 3, 3], seed: 42), random([2, 3, 5, 5], seed: 43), random([3], seed: 44)]) {
            try Tensor.nearestUpsampledConvolutionTranspose2d($0[0], weight: $0[1], bias: $0[2], padding: 2)
        }
    }

    @Test func phaseKernelsAndInterleave() throws {
        let phases = try #require(UpsamplingPhases(kernelSize: 5, padding: 2))
        try checkGradients([random([2, 1, 5, 5], seed: 45)]) { try Tensor.phaseKernels(ofTransposed: $0[0], phases: phases) }
        try checkGradients([random([2, 8, 2, 3], seed: 46)]) { try Tensor.phasesToSpace($0[0]) }
    }

    // MARK: Batch normalisation

    @Test(arguments: [[4, 3], [2, 3, 2, 3]])
    func batchNormTrainingAffine(shape: [Int]) throws {
        let (mean, variance) = (Tensor(zeros: [3]), Tensor(repeating: 1, shape: [3]))
        try checkGradients([random(shape, seed: 42, in: -2...2), random([3], seed: 43, in: 0.5...1.5), random([3], seed: 44)]) {
            try Tensor.batchNormalization($0[0], scale: $0[1], shift: $0[2], runningMean: mean,
                                          runningVariance: variance, training: true)
        }
    }

    @Test(arguments: [[4, 3], [2, 3, 2, 3]])
    func batchNormTrainingWithoutAffine(shape: [Int]) throws {
        let (mean, variance) = (Tensor(zeros: [3]), Tensor(repeating: 1, shape: [3]))
        try checkGradients([random(shape, seed: 45, in: -2...2)]) {
            try Tensor.batchNormalization($0[0], scale: nil, shift: nil, runningMean: mean,
                                          runningVariance: variance, training: true, epsilon: 1e-4)
        }
    }

    @Test func batchNormEvaluationAffine() throws {
        let mean = try Tensor(shape: [3], scalars: [0.2, -0.1, 0.4])
        let variance = try Tensor(shape: [3], scalars: [0.5, 1.5, 2.0])
        try checkGradients([random([2, 3, 2, 2], seed: 46, in: -2...2), random([3], seed: 47, in: 0.5...1.5), random([3], seed: 48)]) {
            try Tensor.batchNormalization($0[0], scale: $0[1], shift: $0[2], runningMean: mean,
                                          runningVariance: variance, training: false)
        }
        // Evaluation mode must leave the running statistics alone.
        #expect(mean.scalars == [0.2, -0.1, 0.4])
        #expect(variance.scalars == [0.5, 1.5, 2.0])
    }

    // MARK: Activations

    @Test func relu() throws {
        try checkGradients([awayFromKinks([3, 7], seed: 49)]) { try $0[0].relu() }
    }

    @Test(arguments: [Float(0.01), 0.2])
    func leakyRelu(slope: Float) throws {
        try checkGradients([awayFromKinks([3, 7], seed: 50)]) { try $0[0].leakyRelu(slope: slope) }
    }

    @Test func sigmoid() throws {
        try checkGradients([random([3, 7], seed: 51, in: -3...3)]) { try $0[0].sigmoid() }
    }

    @Test func tanh() throws {
        try checkGradients([random([3, 7], seed: 52, in: -2...2)]) { try $0[0].tanh() }
    }

    /// The linear map keeps nothing of its input: its backward scales the gradient alike.
    @Test func scale() throws {
        try checkGradients([random([2, 3, 4], seed: 58)]) { try $0[0].scaled(by: -2.5) }
        try checkGradients([random([], seed: 59)]) { try $0[0].scaled(by: 3) }
    }

    // MARK: Pooling and upsampling

    @Test func maxPoolNonOverlappingAndOverlapping() throws {
        try checkGradients([awayFromKinks([1, 2, 4, 4], seed: 53)]) { try Tensor.maxPool2d($0[0], kernelSize: 2) }
        try checkGradients([awayFromKinks([1, 2, 4, 4], seed: 54)]) { try Tensor.maxPool2d($0[0], kernelSize: 2, stride: 1) }
    }

    @Test func maxPoolOnTheChannelBlockedLayout() throws {
        // A 1×1 identity convolution hands on oneDNN's blocked layout, which takes the
        // vectorised 2×2 kernel; 10 channels leave a padded second block.
        let channels = 10
        let identity = try Tensor(shape: [channels, channels, 1, 1], scalars: (0..<(channels * channels)).map { $0 % (channels + 1) == 0 ? 1 : 0 })
        try checkGradients([awayFromKinks([2, channels, 4, 6], seed: 57)]) {
            try Tensor.maxPool2d(Tensor.convolution2d($0[0], weight: identity), kernelSize: 2)
        }
    }

    /// The fused pool and leaky ReLU, on the blocked layout (its own kernel) and the plain
    /// one (the two ops), with a slope large enough to weigh in the gradient.
    @Test(arguments: [Float(0.01), 0.2])
    func maxPoolLeakyRelu(slope: Float) throws {
        let channels = 10
        let identity = try Tensor(shape: [channels, channels, 1, 1], scalars: (0..<(channels * channels)).map { $0 % (channels + 1) == 0 ? 1 : 0 })
        try checkGradients([awayFromKinks([2, channels, 4, 6], seed: 60)]) {
            let blocked = try Tensor.convolution2d($0[0], weight: identity)
            #expect(blocked.channelBlock != nil)
            return try Tensor.maxPool2x2LeakyRelu(blocked, slope: slope)
        }
        try checkGradients([awayFromKinks([1, 3, 4, 4], seed: 61)]) { try Tensor.maxPool2x2LeakyRelu($0[0], slope: slope) }
    }

    @Test func upsampleOnTheChannelBlockedLayout() throws {
        let channels = 10
        let identity = try Tensor(shape: [channels, channels, 1, 1], scalars: (0..<(channels * channels)).map { $0 % (channels + 1) == 0 ? 1 : 0 })
        try checkGradients([random([2, channels, 3, 2], seed: 58)]) {
            try Tensor.upsampleNearest2d(Tensor.convolution2d($0[0], weight: identity), factor: 2)
        }
    }

    @Test func globalAveragePool() throws {
        try checkGradients([random([2, 3, 3, 3], seed: 55)]) { try Tensor.globalAveragePool2d($0[0]) }
    }

    /// A tap: a blocked map pooled globally and also read by the next layer, so that the
    /// pooling's spatially uniform gradient is added to a dense one; pooled twice, two
    /// uniform gradients meet first. The outputs are concatenated into one objective.
    @Test func globalAveragePoolWithAnotherConsumer() throws {
        let channels = 10
        let identity = try Tensor(shape: [channels, channels, 1, 1], scalars: (0..<(channels * channels)).map { $0 % (channels + 1) == 0 ? 1 : 0 })
        try checkGradients([awayFromKinks([2, channels, 4, 6], seed: 62)]) {
            let map = try Tensor.convolution2d($0[0], weight: identity)
            #expect(map.channelBlock != nil)
            let next = try map.leakyRelu(slope: 0.2).flattened()
            return try Tensor.concatenate([Tensor.globalAveragePool2d(map), next, Tensor.globalAveragePool2d(map)], alongAxis: 1)
        }
        try checkGradients([random([2, 3, 3, 5], seed: 63)]) {
            try Tensor.concatenate([Tensor.globalAveragePool2d($0[0]), Tensor.globalAveragePool2d($0[0])], alongAxis: 1)
        }
    }

    @Test func adaptiveMaxPoolWithOverlappingBins() throws {
        try checkGradients([awayFromKinks([1, 2, 5, 7], seed: 56)]) {
            try Tensor.adaptiveMaxPool2d($0[0], outputSize: (2, 3))
        }
    }

    @Test func nearestUpsampling() throws {
        try checkGradients([random([1, 2, 2, 3], seed: 57)]) { try Tensor.upsampleNearest2d($0[0], factor: 2) }
    }

    // MARK: Losses

    @Test func squaredDistanceWithRespectToRowsAndCentre() throws {
        try checkGradients([random([4, 3], seed: 58), random([3], seed: 59)]) { try $0[0].squaredDistance(to: $0[1]) }
    }

    @Test func meanSquaredErrorWithRespectToBothArguments() throws {
        try checkGradients([random([3, 2, 2, 2], seed: 60), random([3, 2, 2, 2], seed: 61)]) {
            try Tensor.meanSquaredError($0[0], $0[1])
        }
    }
}
