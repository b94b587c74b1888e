import MOCCACore
import MOCCANN

/// The LeNet-type convolutional autoencoder of Deep SVDD (Ruff et al., 2018) for 3×32×32
/// images, used by MOCCA on CIFAR-10.
///
/// Encoder: three blocks of 5×5 convolution (no bias) → BatchNorm (affine off, ε 1e-4)
/// → LeakyReLU(0.01) → 2×2 max pooling, then a linear map of the 128×4×4 features to
/// the code and a non-affine BatchNorm1d. The decoder mirrors it with transposed
/// convolutions and nearest ×2 upsampling, ending in a sigmoid. Property names follow
/// the reference PyTorch module, so weight-file keys match its `state_dict`.
public final class CIFAR10LeNetAutoencoder: Module, TappedAutoencoder {
    /// Images are `[3, 32, 32]`.
    public var inputShape: [Int] { [3, 32, 32] }
    /// The taps: the three convolutions and the code.
    public static let taps = ["conv1", "conv2", "conv3", "code"]
    /// The taps, as ``taps``.
    public var tapNames: [String] { Self.taps }
    /// The weights of the three convolutions and the linear layer.
    public var encoderParameters: [Tensor] { [conv1.weight, conv2.weight, conv3.weight, fc1.weight] }

    /// The length of the code (a multiple of 16: the decoder views it as `[code/16, 4, 4]`).
    public let codeLength: Int
    /// The encoder's 5×5 convolutions, 3→32→64→128 channels, without bias.
    public let conv1, conv2, conv3: Conv2d
    /// The encoder's non-affine BatchNorms: one per convolution, and `bn1d` on the code.
    public let bn2d1, bn2d2, bn2d3, bn1d: BatchNorm
    /// The encoder's linear layer, from the 128·4·4 features to the code, without bias.
    public let fc1: Linear
    /// The decoder's 5×5 transposed convolutions, code/16→128→64→32→3 channels, without bias.
    public let deconv1, deconv2, deconv3, deconv4: ConvTranspose2d
    /// The decoder's non-affine BatchNorms, after the first three transposed convolutions.
    public let bn2d4, bn2d5, bn2d6: BatchNorm

    /// Convolution weights are Xavier-uniform with the leaky-ReLU gain, as in the reference;
    /// the linear layer keeps PyTorch's default initialisation.
    public init(codeLength: Int = 128, generator: inout RandomGenerator) throws {
        guard codeLength > 0, codeLength % 16 == 0 else {
            throw TensorError.invalidArgument(op: "CIFAR10LeNetAutoencoder", message: "the code length must be a positive multiple of 16, got \(codeLength)")
        }
        self.codeLength = codeLength
        func conv(_ i: Int, _ o: Int) -> Conv2d { Conv2d(inChannels: i, outChannels: o, kernelSize: 5, padding: 2, bias: false, generator: &generator) }
        func deconv(_ i: Int, _ o: Int) -> ConvTranspose2d {
            ConvTranspose2d(inChannels: i, outChannels: o, kernelSize: 5, padding: 2, bias: false, generator: &generator)
        }
        func bn(_ c: Int) -> BatchNorm { .twoD(channels: c, epsilon: 1e-4, affine: false) }
        conv1 = conv(3, 32); bn2d1 = bn(32)
        conv2 = conv(32, 64); bn2d2 = bn(64)
        conv3 = conv(64, 128); bn2d3 = bn(128)
        fc1 = Linear(inFeatures: 128 * 4 * 4, outFeatures: codeLength, bias: false, generator: &generator)
        bn1d = .oneD(features: codeLength, epsilon: 1e-4, affine: false)
        deconv1 = deconv(codeLength / 16, 128); bn2d4 = bn(128)
        deconv2 = deconv(128, 64); bn2d5 = bn(64)
        deconv3 = deconv(64, 32); bn2d6 = bn(32)
        deconv4 = deconv(32, 3)
        super.init()
        let gain = Initializer.leakyReluGain()
        for weight in [conv1.weight, conv2.weight, conv3.weight, deconv1.weight, deconv2.weight, deconv3.weight, deconv4.weight] {
            try weight.withUnsafeMutableBufferPointer { buffer in
                let fresh = Initializer.xavierUniform(shape: weight.shape, gain: gain, using: &generator)
                try fresh.withUnsafeBufferPointer { _ = buffer.update(fromContentsOf: $0) }
            }
        }
    }

    /// Runs the encoder, keeping the intermediate feature maps.
    public func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding {
        try checkInput(x)
        var convolutions: [Tensor] = []
        var h = x
        for (conv, bn) in [(conv1, bn2d1), (conv2, bn2d2), (conv3, bn2d3)] {
            let features = try conv(h)
            convolutions.append(features)
            // The paper's order is BN, LeakyReLU, pool. LeakyReLU is strictly increasing, so
            // it commutes with max pooling (same values, same argmax, same gradients); after
            // the pool it touches a quarter of the elements.
            h = try Tensor.maxPool2d(bn(features), kernelSize: 2).leakyRelu()
        }
        let linear = try fc1(h.flattened())
        return Encoding(convolutions: convolutions, linear: linear, code: includingCode ? try bn1d(linear) : nil)
    }

    /// Maps a code back to an image in `[0, 1]`.
    public func decode(_ code: Tensor) throws -> Tensor {
        var h = try code.reshaped(to: [code.shape[0], codeLength / 16, 4, 4]).leakyRelu()
        for (deconv, bn) in [(deconv1, bn2d4), (deconv2, bn2d5), (deconv3, bn2d6)] {
            h = try Tensor.upsampleNearest2d(bn(deconv(h)).leakyRelu(), factor: 2)
        }
        return try deconv4(h).sigmoid()
    }

}
