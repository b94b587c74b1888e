import MOCCACore
import MOCCANN

/// What an encoder computes on the way to its code.
public struct Encoding {
    /// The raw outputs of the convolutional blocks, before BatchNorm, shallow to deep.
    public var convolutions: [Tensor]
    /// The output of the final linear layer: the one-class representation (Deep SVDD's
    /// encoder ends here, without bias or BatchNorm, to avoid trivial solutions).
    public var linear: Tensor
    /// What the decoder reads: ``linear``, after a BatchNorm1d where the model has one.
    /// Nil when only the encoder's features were asked for.
    public var code: Tensor?
}

/// An autoencoder whose encoder exposes intermediate representations ("taps").
///
/// MOCCA keeps the encoder after pre-training and attaches a one-class objective to
/// several of its layers. Convolutional taps are global-average-pooled to vectors.
public protocol TappedAutoencoder: Module, Layer {
    /// The shape `[C, H, W]` of one input image.
    var inputShape: [Int] { get }
    /// The available taps, shallow to deep: one per convolution, then `code`.
    var tapNames: [String] { get }
    /// The parameters of the encoder, the part trained in MOCCA's one-class phase.
    var encoderParameters: [Tensor] { get }
    /// Runs the encoder up to its linear layer; with `includingCode`, also the layer that
    /// turns its output into the decoder's code (the one-class phase does not need it).
    func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding
    /// Maps a code to a reconstruction.
    func decode(_ code: Tensor) throws -> Tensor
}

extension TappedAutoencoder {
    /// Runs the whole encoder, code included.
    public func encode(_ x: Tensor) throws -> Encoding { try encode(x, includingCode: true) }

    /// The reconstruction of `x`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        let encoding = try encode(x, includingCode: true)
        return try decode(encoding.code ?? encoding.linear)
    }

    /// The vectors `[N, D_l]` of the named taps, in the order given.
    public func tapVectors(_ x: Tensor, taps: [String]) throws -> [Tensor] {
        let encoding = try encode(x, includingCode: false)
        return try taps.map { name in
            if name == "code" { return encoding.linear }
            guard let index = tapNames.firstIndex(of: name), index < encoding.convolutions.count else {
                throw TensorError.invalidArgument(op: "taps", message: "unknown tap '\(name)'; this model has \(tapNames.joined(separator: ", "))")
            }
            return try Tensor.globalAveragePool2d(encoding.convolutions[index])
        }
    }

    /// Throws unless `x` is a batch of images of ``inputShape``.
    public func checkInput(_ x: Tensor) throws {
        guard x.rank == 4, Array(x.shape.dropFirst()) == inputShape else {
            throw TensorError.shapeMismatch(op: String(describing: Self.self), message: "expected images [N, \(inputShape.map(String.init).joined(separator: ", "))], got \(x.shape)")
        }
    }
}

/// The LeNet-type autoencoder of Deep SVDD for 1×28×28 images (MNIST, Fashion-MNIST).
///
/// Encoder: conv 1→8 5×5 → BN → LeakyReLU → pool, conv 8→4 5×5 → BN → LeakyReLU → pool,
/// linear 196→`codeLength` (no bias). Decoder: the code viewed as `[code/16, 4, 4]`,
/// upsampled and passed through transposed convolutions back to 28×28, then a sigmoid.
/// BatchNorms are non-affine with ε = 1e-4, as in the reference.
public final class MNISTLeNetAutoencoder: Module, TappedAutoencoder {
    /// The length of the code (a multiple of 16: the decoder views it as `[code/16, 4, 4]`).
    public let codeLength: Int
    /// The encoder's 5×5 convolutions, 1→8→4 channels, without bias.
    public let conv1, conv2: Conv2d
    /// Non-affine BatchNorms: `bn1` and `bn2` in the encoder, `bn3` and `bn4` in the decoder.
    public let bn1, bn2, bn3, bn4: BatchNorm
    /// The encoder's linear layer, from the 4·7·7 features to the code, without bias.
    public let fc1: Linear
    /// The decoder's 5×5 transposed convolutions, code/16→4→8→1 channels, without bias.
    public let deconv1, deconv2, deconv3: ConvTranspose2d

    /// Images are `[1, 28, 28]`.
    public var inputShape: [Int] { [1, 28, 28] }
    /// The taps: the two convolutions and the code.
    public static let taps = ["conv1", "conv2", "code"]
    /// The taps, as ``taps``.
    public var tapNames: [String] { Self.taps }
    /// The weights of the two convolutions and the linear layer.
    public var encoderParameters: [Tensor] { [conv1.weight, conv2.weight, fc1.weight] }

    /// A model with a `codeLength`-long code; weights keep PyTorch's default initialisation.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` unless `codeLength` is a positive multiple of 16.
    public init(codeLength: Int = 32, generator: inout RandomGenerator) throws {
        guard codeLength > 0, codeLength % 16 == 0 else {
            throw TensorError.invalidArgument(op: "MNISTLeNetAutoencoder", message: "the code length must be a positive multiple of 16, got \(codeLength)")
        }
        self.codeLength = codeLength
        func bn(_ c: Int) -> BatchNorm { .twoD(channels: c, epsilon: 1e-4, affine: false) }
        conv1 = Conv2d(inChannels: 1, outChannels: 8, kernelSize: 5, padding: 2, bias: false, generator: &generator)
        bn1 = bn(8)
        conv2 = Conv2d(inChannels: 8, outChannels: 4, kernelSize: 5, padding: 2, bias: false, generator: &generator)
        bn2 = bn(4)
        fc1 = Linear(inFeatures: 4 * 7 * 7, outFeatures: codeLength, bias: false, generator: &generator)
        deconv1 = ConvTranspose2d(inChannels: codeLength / 16, outChannels: 4, kernelSize: 5, padding: 2, bias: false, generator: &generator)
        bn3 = bn(4)
        deconv2 = ConvTranspose2d(inChannels: 4, outChannels: 8, kernelSize: 5, padding: 3, bias: false, generator: &generator)
        bn4 = bn(8)
        deconv3 = ConvTranspose2d(inChannels: 8, outChannels: 1, kernelSize: 5, padding: 2, bias: false, generator: &generator)
    }

    /// Runs the encoder, keeping the intermediate feature maps; the code is the linear output (there is no BatchNorm1d).
    public func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding {
        try checkInput(x)
        let c1 = try conv1(x)
        // LeakyReLU after the pool: see CIFAR10LeNetAutoencoder.encode.
        let h1 = try Tensor.maxPool2d(bn1(c1), kernelSize: 2).leakyRelu()
        let c2 = try conv2(h1)
        let h2 = try Tensor.maxPool2d(bn2(c2), kernelSize: 2).leakyRelu()
        let linear = try fc1(h2.flattened())
        return Encoding(convolutions: [c1, c2], linear: linear, code: linear)
    }

    /// Maps a code back to a `[N, 1, 28, 28]` image in `[0, 1]`.
    public func decode(_ code: Tensor) throws -> Tensor {
        var h = try Tensor.upsampleNearest2d(code.reshaped(to: [code.shape[0], codeLength / 16, 4, 4]).leakyRelu(), factor: 2)
        h = try Tensor.upsampleNearest2d(bn3(deconv1(h)).leakyRelu(), factor: 2)
        h = try Tensor.upsampleNearest2d(bn4(deconv2(h)).leakyRelu(), factor: 2)
        return try deconv3(h).sigmoid()
    }
}
