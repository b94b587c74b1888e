import MOCCACore
import MOCCANN

/// The LeNet-type convolutional autoencoder of Deep SVDD (Ruff et al., 2018) for 3×32×32
/// images, used by MOCCA on CIFAR-10.
///
/// Encoder: three blocks of 5×5 convolution (no bias) → BatchNorm (affine off, ε 1e-4)
/// → LeakyReLU(0.01) → 2×2 max pooling, then a linear map of the 128×4×4 features to
/// the code and a non-affine BatchNorm1d. The decoder mirrors it with transposed
/// convolutions and nearest ×2 upsampling, ending in a sigmoid. Weight-file keys are
/// those of the reference PyTorch module's `state_dict` (`conv1.weight`, ...): the
/// encoder and decoder groups are inlined.
public final class CIFAR10LeNetAutoencoder: Module, TappedAutoencoder {
    /// The encoder's layers.
    public final class Encoder: Module {
        /// The 5×5 convolutions, 3→32→64→128 channels, without bias.
        public let conv1, conv2, conv3: Conv2d
        /// Non-affine BatchNorms: one per convolution, and `bn1d` on the code.
        public let bn2d1, bn2d2, bn2d3, bn1d: BatchNorm
        /// The linear layer from the 128·4·4 features to the code, without bias.
        public let fc1: Linear

        init(codeLength: Int, generator: inout RandomGenerator) {
            func conv(_ i: Int, _ o: Int) -> Conv2d { Conv2d(inChannels: i, outChannels: o, kernelSize: 5, padding: 2, bias: false, generator: &generator) }
            conv1 = conv(3, 32); bn2d1 = .lenet(32)
            conv2 = conv(32, 64); bn2d2 = .lenet(64)
            conv3 = conv(64, 128); bn2d3 = .lenet(128)
            fc1 = Linear(inFeatures: 128 * 4 * 4, outFeatures: codeLength, bias: false, generator: &generator)
            bn1d = .oneD(features: codeLength, epsilon: 1e-4, affine: false)
        }
    }

    /// The decoder's layers.
    public final class Decoder: Module {
        /// The 5×5 transposed convolutions, code/16→128→64→32→3 channels, without bias.
        public let deconv1, deconv2, deconv3, deconv4: ConvTranspose2d
        /// Non-affine BatchNorms after the first three transposed convolutions.
        public let bn2d4, bn2d5, bn2d6: BatchNorm

        init(codeLength: Int, generator: inout RandomGenerator) {
            func deconv(_ i: Int, _ o: Int) -> ConvTranspose2d {
                ConvTranspose2d(inChannels: i, outChannels: o, kernelSize: 5, padding: 2, bias: false, generator: &generator)
            }
            deconv1 = deconv(codeLength / 16, 128); bn2d4 = .lenet(128)
            deconv2 = deconv(128, 64); bn2d5 = .lenet(64)
            deconv3 = deconv(64, 32); bn2d6 = .lenet(32)
            deconv4 = deconv(32, 3)
        }
    }

    /// The taps: the three convolutions and the code.
    public static let taps = ["conv1", "conv2", "conv3", "code"]
    /// The length of the code (a multiple of 16: the decoder views it as `[code/16, 4, 4]`).
    public let codeLength: Int
    /// The encoder's layers (keys inlined).
    public let encoderLayers: Encoder
    /// The decoder's layers (keys inlined).
    public let decoderLayers: Decoder
    /// Global average pooling for the convolution taps, the identity for the code.
    public let heads: [TapHead] = [GlobalAveragePoolHead(), GlobalAveragePoolHead(), GlobalAveragePoolHead(), IdentityHead()]

    /// Images are `[3, 32, 32]`.
    public var inputShape: [Int] { [3, 32, 32] }
    /// The taps, as ``taps``.
    public var tapNames: [String] { Self.taps }
    /// The encoder: the convolutions, their BatchNorms and the linear layer.
    public var encoder: Module { encoderLayers }
    /// The heads, as ``heads``.
    public var tapHeads: [TapHead] { heads }
    /// The encoder and decoder keep the reference module's flat keys.
    public override class var inlinedChildren: Set<String> { ["encoderLayers", "decoderLayers"] }

    /// Convolution weights are Xavier-uniform with the leaky-ReLU gain, as in the reference;
    /// the linear layer keeps PyTorch's default initialisation.
    public init(codeLength: Int = 128, generator: inout RandomGenerator) throws {
        guard codeLength > 0, codeLength % 16 == 0 else {
            throw TensorError.invalidArgument(op: "CIFAR10LeNetAutoencoder", message: "the code length must be a positive multiple of 16, got \(codeLength)")
        }
        self.codeLength = codeLength
        // The generator is drawn in the reference's order: encoder, decoder, then Xavier.
        encoderLayers = Encoder(codeLength: codeLength, generator: &generator)
        decoderLayers = Decoder(codeLength: codeLength, generator: &generator)
        super.init()
        let gain = Initializer.leakyReluGain()
        let (e, d) = (encoderLayers, decoderLayers)
        for weight in [e.conv1.weight, e.conv2.weight, e.conv3.weight, d.deconv1.weight, d.deconv2.weight, d.deconv3.weight, d.deconv4.weight] {
            weight.withUnsafeMutableBufferPointer { buffer in
                let fresh = Initializer.xavierUniform(shape: weight.shape, gain: gain, using: &generator)
                fresh.withUnsafeBufferPointer { _ = buffer.update(fromContentsOf: $0) }
            }
        }
    }

    /// Runs the encoder; the taps are the raw convolution outputs and the linear output.
    public func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding {
        try encode(x, includingCode: includingCode, keepingTaps: Set(tapNames.indices))
    }

    /// Runs the encoder keeping the taps at `tapIndices`. In evaluation mode without
    /// gradients, a convolution whose raw output is not kept takes its BatchNorm folded in
    /// and its LeakyReLU fused (``InferenceFusion``); one whose output is a tap keeps it, and
    /// its BatchNorm and LeakyReLU run on the pooled values instead
    /// (``BatchNorm/maxPooledLeakyRelu(_:kernelSize:slope:)``).
    public func encode(_ x: Tensor, includingCode: Bool, keepingTaps tapIndices: Set<Int>) throws -> Encoding {
        try checkInput(x)
        let e = encoderLayers
        var taps: [Tensor] = []
        let h = try LeNetBlocks.run(x, [(e.conv1, e.bn2d1), (e.conv2, e.bn2d2), (e.conv3, e.bn2d3)],
                                    keepingTaps: tapIndices, taps: &taps)
        // Deep SVDD's representation is the linear output, without bias or BatchNorm (to
        // avoid trivial solutions); the decoder reads it after BatchNorm1d.
        let linear = try e.fc1(h.flattened())
        if tapIndices.contains(3) { taps.append(linear) }
        return Encoding(taps: taps, code: includingCode ? try e.bn1d(linear) : nil)
    }

    /// Maps a code back to an image in `[0, 1]`. The last three transposed convolutions read
    /// nearest ×2 upsampled maps; they run on the maps before upsampling, as four phase
    /// kernels (``ConvTranspose2d/callAsFunction(nearestUpsampled:normalizedBy:activation:)``),
    /// which is the same function with 9 multiply-adds per output instead of 25. In
    /// evaluation mode without gradients every transposed convolution runs as a convolution
    /// with its BatchNorm folded in and its activation fused (``InferenceFusion``).
    public func decode(_ code: Tensor) throws -> Tensor {
        let d = decoderLayers
        let h = try code.reshaped(to: [code.shape[0], codeLength / 16, 4, 4]).leakyRelu()
        let h4 = try d.deconv1(h, normalizedBy: d.bn2d4, activation: .leakyReLU)
        let h8 = try d.deconv2(nearestUpsampled: h4, normalizedBy: d.bn2d5, activation: .leakyReLU)
        let h16 = try d.deconv3(nearestUpsampled: h8, normalizedBy: d.bn2d6, activation: .leakyReLU)
        return try d.deconv4(nearestUpsampled: h16, activation: .sigmoid)
    }
}

extension BatchNorm {
    /// Deep SVDD's 2-D BatchNorm: non-affine, ε = 1e-4.
    static func lenet(_ channels: Int) -> BatchNorm { .twoD(channels: channels, epsilon: 1e-4, affine: false) }
}
