import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

/// Evaluation-mode passes fold each BatchNorm into the convolution before it and fuse the
/// activation after it (``InferenceFusion``); where a tap keeps a convolution's raw output,
/// the BatchNorm and LeakyReLU run on the pooled values instead. The unfused layers are the
/// reference: reconstructions, reconstruction errors and tap vectors must agree with them
/// within 1e-5 relative, and training-mode passes must not change at all.
@Suite("Inference fusion")
struct InferenceFusionTests {
    /// The networks that fuse: both LeNets and a small residual autoencoder (grey 16×16
    /// images, whose 1×1 output convolution is channel-poor).
    static let networks = ["cifar10-lenet", "mnist-lenet", "mvtec-resnet"]

    static let configurations: [String: JSONValue] = [
        "mvtec-resnet": .object(["imageSize": .number(16), "channels": .number(1), "codeLength": .number(16)]),
    ]

    /// A network whose BatchNorms hold running statistics of real batches (not the initial
    /// mean 0 and variance 1, which would hide a wrong centre), in evaluation mode.
    static func network(_ name: String) throws -> (TappedAutoencoder, Tensor) {
        var generator = RandomGenerator(seed: 3)
        let resolved = try NetworkSpecification(name: name, configuration: configurations[name] ?? .object([:])).resolved()
        guard let network = try resolved.makeNetwork(generator: &generator) as? TappedAutoencoder else {
            throw TensorError.invalidArgument(op: "test", message: "\(name) is not an autoencoder")
        }
        network.train()
        for seed in 0..<12 {
            _ = try withoutGradients { try network(Tensor.uniform(shape: [8] + network.inputShape, using: &generator) * 1.5 + Float(seed % 3) * 0.1) }
        }
        network.eval()
        return (network, Tensor.uniform(shape: [6] + network.inputShape, using: &generator))
    }

    /// Whether every value of `fused` is within 1e-5 relative of `reference` (with an
    /// absolute floor of 1e-5 of the largest value, for values that are nearly zero).
    static func expectClose(_ fused: Tensor, _ reference: Tensor, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let magnitude = reference.scalars.map(abs).max() ?? 1
        let distance = closeness(fused, reference, rtol: 1e-5, atol: 1e-5 * max(magnitude, 1e-6))
        #expect(distance <= 1, "\(what): \(distance) tolerances from the unfused path", sourceLocation: sourceLocation)
    }

    @Test(arguments: networks)
    func reconstructionsMatchTheUnfusedLayers(name: String) throws {
        let (network, x) = try Self.network(name)
        let fused = try withoutGradients { (try network(x).plain(), try network.reconstructionError(x)) }
        let reference = try InferenceFusion.$isEnabled.withValue(false) {
            try withoutGradients { (try network(x).plain(), try network.reconstructionError(x)) }
        }
        Self.expectClose(fused.0, reference.0, "\(name) reconstruction")
        Self.expectClose(fused.1, reference.1, "\(name) reconstruction error")
    }

    @Test(arguments: networks)
    func tapVectorsMatchTheUnfusedLayers(name: String) throws {
        let (network, x) = try Self.network(name)
        // All taps (every convolution's raw output kept), the code alone (everything
        // foldable in the LeNets), and the code with the second tap (the LeNets' first
        // convolution foldable).
        let code = network.tapNames[network.tapNames.count - 1]
        for taps in [network.tapNames, [code], [code, network.tapNames[1]]] {
            let fused = try withoutGradients { try network.tapVectors(x, taps: taps) }
            let reference = try InferenceFusion.$isEnabled.withValue(false) { try withoutGradients { try network.tapVectors(x, taps: taps) } }
            #expect(fused.count == taps.count)
            for (tap, (f, r)) in zip(taps, zip(fused, reference)) { Self.expectClose(f, r, "\(name) \(taps) tap \(tap)") }
        }
    }

    @Test(arguments: networks)
    func trainingPassesAreUnchanged(name: String) throws {
        let (network, x) = try Self.network(name)
        network.train()
        defer { network.eval() }
        // Training mode never fuses, with gradients or without: the same values bit for bit.
        let fused = try network(x).scalars
        let reference = try InferenceFusion.$isEnabled.withValue(false) { try network(x).scalars }
        #expect(fused == reference)
        // Nor does an evaluation-mode pass that records gradients.
        network.eval()
        let recorded = try network.reconstructionLoss(x)
        try recorded.backward()
        #expect(recorded.requiresGrad)
    }

    /// Stride-1 transposed convolutions fold (as convolutions); strided and channel-poor
    /// ones run unfused. Either way the values are the layers'.
    @Test(arguments: [(16, 24, 1, 2), (24, 16, 1, 1), (16, 24, 2, 2), (4, 8, 1, 2)])
    func transposedConvolutionsFoldWhereTheyAreConvolutions(inChannels: Int, outChannels: Int, stride: Int, padding: Int) throws {
        var generator = RandomGenerator(seed: 4)
        let deconv = ConvTranspose2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 5, stride: stride,
                                     padding: padding, outputPadding: stride - 1, generator: &generator)
        let bn = BatchNorm.twoD(channels: outChannels)
        try #require(bn.weight).withUnsafeMutableBufferPointer { gamma in
            for c in gamma.indices { gamma[c] = c % 3 == 0 ? -0.7 : 1.3 }
        }
        bn.runningMean.withUnsafeMutableBufferPointer { mean in for c in mean.indices { mean[c] = 0.1 * Float(c % 4) - 0.1 } }
        bn.runningVariance.withUnsafeMutableBufferPointer { variance in for c in variance.indices { variance[c] = 0.5 + 0.2 * Float(c % 5) } }
        deconv.eval()
        bn.eval()
        let x = Tensor.uniform(shape: [3, inChannels, 6, 7], in: -1...1, using: &generator)
        let fused = try withoutGradients { try deconv(x, normalizedBy: bn, activation: .leakyRelu(slope: 0.01)) }
        let reference = try InferenceFusion.$isEnabled.withValue(false) {
            try withoutGradients { try deconv(x, normalizedBy: bn, activation: .leakyRelu(slope: 0.01)) }
        }
        Self.expectClose(fused, reference, "transposed \(inChannels)->\(outChannels) stride \(stride)")
    }

    /// A transposed convolution after nearest ×2 upsampling, fused (phase kernels with the
    /// BatchNorm folded in, the activation fused) and in training mode (phase kernels),
    /// against upsampling and running the unfused layers; the 3×3 layer takes the
    /// upsampling path. CIFAR-10's wide layer, its channel-poor last layer with a sigmoid,
    /// and a layer with bias.
    @Test(arguments: [(32, 16, 5, false, true), (32, 3, 5, false, false), (8, 20, 5, true, true), (16, 16, 3, true, true)])
    func upsampledTransposedConvolutionsFoldByPhases(inChannels: Int, outChannels: Int, kernel: Int, bias: Bool, normalized: Bool) throws {
        var generator = RandomGenerator(seed: 5)
        let deconv = ConvTranspose2d(inChannels: inChannels, outChannels: outChannels, kernelSize: kernel,
                                     padding: (kernel - 1) / 2, bias: bias, generator: &generator)
        let bn = BatchNorm.twoD(channels: outChannels)
        try #require(bn.weight).withUnsafeMutableBufferPointer { gamma in
            for c in gamma.indices { gamma[c] = c % 3 == 0 ? -0.7 : 1.3 }
        }
        bn.runningMean.withUnsafeMutableBufferPointer { mean in for c in mean.indices { mean[c] = 0.1 * Float(c % 4) - 0.1 } }
        bn.runningVariance.withUnsafeMutableBufferPointer { variance in for c in variance.indices { variance[c] = 0.5 + 0.2 * Float(c % 5) } }
        let activation: FusedActivation = normalized ? .leakyRelu(slope: 0.01) : .sigmoid
        let x = Tensor.uniform(shape: [3, inChannels, 4, 5], in: -1...1, using: &generator)
        for training in [false, true] {
            if training { deconv.train(); bn.train() } else { deconv.eval(); bn.eval() }
            let phased = try withoutGradients { try deconv(nearestUpsampled: x, normalizedBy: normalized ? bn : nil, activation: activation) }
            let reference = try InferenceFusion.$isEnabled.withValue(false) {
                try withoutGradients {
                    let upsampled = try deconv(Tensor.upsampleNearest2d(x, factor: 2))
                    return try (normalized ? bn(upsampled) : upsampled).activated(activation)
                }
            }
            #expect(phased.shape == [3, outChannels, 8, 10])
            Self.expectClose(phased, reference, "\(inChannels)->\(outChannels) \(kernel)x\(kernel) \(training ? "training" : "fused")")
        }
    }

    @Test func aNegativeScaleFallsBackToTheUnfusedPool() throws {
        var generator = RandomGenerator(seed: 9)
        let conv = Conv2d(inChannels: 3, outChannels: 20, kernelSize: 3, padding: 1, generator: &generator)
        let bn = BatchNorm.twoD(channels: 20)
        try #require(bn.weight).withUnsafeMutableBufferPointer { gamma in
            for c in gamma.indices { gamma[c] = c % 3 == 0 ? -0.7 : 1.3 }
        }
        bn.runningMean.withUnsafeMutableBufferPointer { mean in for c in mean.indices { mean[c] = 0.05 * Float(c % 4) } }
        conv.eval()
        bn.eval()
        let x = Tensor.uniform(shape: [2, 3, 8, 8], in: -1...1, using: &generator)
        let features = try withoutGradients { try conv(x) }
        let fused = try withoutGradients { try bn.maxPooledLeakyRelu(features, kernelSize: 2) }
        let reference = try Tensor.maxPool2d(bn(features), kernelSize: 2).leakyRelu()
        Self.expectClose(fused, reference, "pool with a negative γ")
        // The folded convolution has no such restriction.
        let folded = try withoutGradients { try conv(x, normalizedBy: bn, activation: .leakyRelu(slope: 0.01)) }
        Self.expectClose(folded, try bn(conv(x)).leakyRelu(), "convolution with an affine BatchNorm folded")
    }

    /// Fusion runs only in float32 evaluation: not while recording gradients, not in
    /// training mode, and not under bf16, whose unfused convolutions are faster.
    @Test func fusionAppliesOnlyToFloat32Evaluation() throws {
        var generator = RandomGenerator(seed: 1)
        let layer = Conv2d(inChannels: 8, outChannels: 8, kernelSize: 3, generator: &generator)
        layer.eval()
        #expect(withoutGradients { InferenceFusion.applies(to: layer) })
        #expect(!InferenceFusion.applies(to: layer))           // gradients recorded
        layer.train()
        #expect(!withoutGradients { InferenceFusion.applies(to: layer) })
        layer.eval()
        guard ComputePrecision.bf16IsNative else { return }    // bf16 is refused there (tested elsewhere)
        try ComputePrecision.run(in: .bf16) { #expect(!withoutGradients { InferenceFusion.applies(to: layer) }) }
    }
}
