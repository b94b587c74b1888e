import MOCCACore
import MOCCANN

/// The LeNet-type autoencoder of Deep SVDD for 1×28×28 images (MNIST, Fashion-MNIST).
///
/// Encoder: conv 1→8 5×5 → BN → LeakyReLU → pool, conv 8→4 5×5 → BN → LeakyReLU → pool,
/// linear 196→`codeLength` (no bias). Decoder: the code viewed as `[code/16, 4, 4]`,
/// upsampled and passed through transposed convolutions back to 28×28, then a sigmoid.
/// BatchNorms are non-affine with ε = 1e-4, as in the reference, whose flat weight keys
/// are kept.
public final class MNISTLeNetAutoencoder: Module, TappedAutoencoder {
    /// The encoder's layers.
    public final class Encoder: Module {
        /// The 5×5 convolutions, 1→8→4 channels, without bias.
        public let conv1, conv2: Conv2d
        /// Non-affine BatchNorms after the convolutions.
        public let bn1, bn2: BatchNorm
        /// The linear layer from the 4·7·7 features to the code, without bias.
        public let fc1: Linear

        init(codeLength: Int, generator: inout RandomGenerator) {
            conv1 = Conv2d(inChannels: 1, outChannels: 8, kernelSize: 5, padding: 2, bias: false, generator: &generator)
            bn1 = .lenet(8)
            conv2 = Conv2d(inChannels: 8, outChannels: 4, kernelSize: 5, padding: 2, bias: false, generator: &generator)
            bn2 = .lenet(4)
            fc1 = Linear(inFeatures: 4 * 7 * 7, outFeatures: codeLength, bias: false, generator: &generator)
        }
    }

    /// The decoder's layers.
    public final class Decoder: Module {
        /// The 5×5 transposed convolutions, code/16→4→8→1 channels, without bias.
        public let deconv1, deconv2, deconv3: ConvTranspose2d
        /// Non-affine BatchNorms after the first two transposed convolutions.
        public let bn3, bn4: BatchNorm

        init(codeLength: Int, generator: inout RandomGenerator) {
            deconv1 = ConvTranspose2d(inChannels: codeLength / 16, outChannels: 4, kernelSize: 5, padding: 2, bias: false, generator: &generator)
            bn3 = .lenet(4)
            deconv2 = ConvTranspose2d(inChannels: 4, outChannels: 8, kernelSize: 5, padding: 3, bias: false, generator: &generator)
            bn4 = .lenet(8)
            deconv3 = ConvTranspose2d(inChannels: 8, outChannels: 1, kernelSize: 5, padding: 2, bias: false, generator: &generator)
        }
    }

    /// The taps: the two convolutions and the code.
    public static let taps = ["conv1", "conv2", "code"]
    /// The length of the code (a multiple of 16: the decoder views it as `[code/16, 4, 4]`).
    public let codeLength: Int
    /// The encoder's layers (keys inlined).
    public let encoderLayers: Encoder
    /// The decoder's layers (keys inlined).
    public let decoderLayers: Decoder
    /// Global average pooling for the convolution taps, the identity for the code.
    public let heads: [TapHead] = [GlobalAveragePoolHead(), GlobalAveragePoolHead(), IdentityHead()]

    /// Images are `[1, 28, 28]`.
    public var inputShape: [Int] { [1, 28, 28] }
    /// The taps, as ``taps``.
    public var tapNames: [String] { Self.taps }
    /// The encoder: the convolutions, their BatchNorms and the linear layer.
    public var encoder: Module { encoderLayers }
    /// The heads, as ``heads``.
    public var tapHeads: [TapHead] { heads }
    /// The encoder and decoder keep the reference module's flat keys.
    public override class var inlinedChildren: Set<String> { ["encoderLayers", "decoderLayers"] }

    /// A model with a `codeLength`-long code; weights keep PyTorch's default initialisation.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` unless `codeLength` is a positive multiple of 16.
    public init(codeLength: Int = 32, generator: inout RandomGenerator) throws {
        guard codeLength > 0, codeLength % 16 == 0 else {
            throw TensorError.invalidArgument(op: "MNISTLeNetAutoencoder", message: "the code length must be a positive multiple of 16, got \(codeLength)")
        }
        self.codeLength = codeLength
        encoderLayers = Encoder(codeLength: codeLength, generator: &generator)
        decoderLayers = Decoder(codeLength: codeLength, generator: &generator)
    }

    /// Runs the encoder; the taps are the raw convolution outputs and the linear output,
    /// which is also the code (there is no BatchNorm1d).
    public func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding {
        try encode(x, includingCode: includingCode, keepingTaps: Set(tapNames.indices))
    }

    /// Runs the encoder keeping the taps at `tapIndices`, fusing as
    /// ``CIFAR10LeNetAutoencoder/encode(_:includingCode:keepingTaps:)`` does.
    public func encode(_ x: Tensor, includingCode: Bool, keepingTaps tapIndices: Set<Int>) throws -> Encoding {
        try checkInput(x)
        let e = encoderLayers
        var taps: [Tensor] = []
        let h = try LeNetBlocks.run(x, [(e.conv1, e.bn1), (e.conv2, e.bn2)], keepingTaps: tapIndices, taps: &taps)
        let linear = try e.fc1(h.flattened())
        if tapIndices.contains(2) { taps.append(linear) }
        return Encoding(taps: taps, code: linear)
    }

    /// Maps a code back to a `[N, 1, 28, 28]` image in `[0, 1]`. Each transposed
    /// convolution reads a nearest ×2 upsampled map
    /// (``ConvTranspose2d/callAsFunction(nearestUpsampled:normalizedBy:activation:)``): the
    /// first and last run on the map before upsampling, as four phase kernels; the middle
    /// one, whose padding of 3 shrinks the map to 14×14, upsamples first.
    public func decode(_ code: Tensor) throws -> Tensor {
        let d = decoderLayers
        let h4 = try code.reshaped(to: [code.shape[0], codeLength / 16, 4, 4]).leakyRelu()
        let h8 = try d.deconv1(nearestUpsampled: h4, normalizedBy: d.bn3, activation: .leakyReLU)
        let h14 = try d.deconv2(nearestUpsampled: h8, normalizedBy: d.bn4, activation: .leakyReLU)
        return try d.deconv3(nearestUpsampled: h14, activation: .sigmoid)
    }
}
