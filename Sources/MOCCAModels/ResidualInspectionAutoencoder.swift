import MOCCACore
import MOCCANN

/// The residual convolutional autoencoder MOCCA uses on MVTec AD (Massoli et al., 2020),
/// for square `C×S×S` images with `S` a multiple of 8.
///
/// It follows the paper's reference PyTorch code (`models/mvtec_model.py` and
/// `models/mvtec_base_model.py` of `fvmassoli/mocca`):
/// - Encoder: a 3×3 convolution without padding or bias to 32 channels (tap `o1`, taken
///   before its LeakyReLU: there is no BatchNorm on it), a residual block at 32 channels
///   (`o2`), three downsampling blocks 32→64→128→256 (`o3`, `o4`, `o5`, the last at
///   `S/8 × S/8`), a linear layer to 256 with BatchNorm1d and LeakyReLU (`o7`), a linear
///   layer to the code (`o8`) and its sigmoid (`z`). The reference's `o6` does not exist.
/// - Decoder, reading `z` as the reference does: linear to 256, BatchNorm1d, LeakyReLU;
///   linear to `256·(S/8)²`, BatchNorm1d, LeakyReLU; three upsampling blocks 256→128→64→32;
///   a residual block at 32; a 1×1 convolution without bias to `C` channels and no output
///   activation.
/// - Every convolution in a block has no bias and is followed by an affine BatchNorm
///   (ε 1e-5, momentum 0.1); the linear layers have biases. LeakyReLU's slope is 0.01.
///   In evaluation mode without gradients the BatchNorm of each (non-transposed)
///   convolution folds into it, and a LeakyReLU right after one runs as the convolution
///   writes (``InferenceFusion``); no tap reads a convolution inside a block.
///
/// Deviations from the reference, each forced by a choice it leaves open: the output
/// convolution has `C` channels (the reference hard-codes 3); weights keep PyTorch's
/// default initialisation, which is also what the reference uses; weight-file keys are this
/// module's (`encoderLayers.dwn1.conv1a.weight`, ...), the reference's names below the
/// top level.
public final class ResidualInspectionAutoencoder: Module, TappedAutoencoder {
    /// Two 3×3 convolutions with BatchNorm around an identity shortcut: the reference's
    /// `ResidualBlock`, which keeps the width and size.
    public final class ResidualBlock: Module {
        /// The 3×3 convolutions (padding 1, no bias).
        public let conv1, conv2: Conv2d
        /// Their BatchNorms.
        public let bn1, bn2: BatchNorm

        init(channels: Int, generator: inout RandomGenerator) {
            conv1 = .threeByThree(channels, channels, stride: 1, generator: &generator)
            conv2 = .threeByThree(channels, channels, stride: 1, generator: &generator)
            bn1 = .twoD(channels: channels)
            bn2 = .twoD(channels: channels)
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try residual(conv2(conv1(x, normalizedBy: bn1, activation: .leakyReLU), normalizedBy: bn2), x)
        }
    }

    /// A block that halves the size and changes the width: a stride-2 3×3 convolution and
    /// a 3×3 convolution on one branch, a stride-2 1×1 convolution on the shortcut, each
    /// convolution with its BatchNorm (the reference's `DownsampleBlock`).
    public final class DownsampleBlock: Module {
        /// The branch's convolutions: stride 2, then stride 1 (both 3×3, padding 1).
        public let conv1a, conv1b: Conv2d
        /// The shortcut's 1×1 stride-2 convolution.
        public let conv2a: Conv2d
        /// One BatchNorm per convolution.
        public let bn1a, bn1b, bn2a: BatchNorm

        init(_ inChannels: Int, _ outChannels: Int, generator: inout RandomGenerator) {
            conv1a = .threeByThree(inChannels, outChannels, stride: 2, generator: &generator)
            conv1b = .threeByThree(outChannels, outChannels, stride: 1, generator: &generator)
            conv2a = Conv2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 1, stride: 2, bias: false, generator: &generator)
            (bn1a, bn1b, bn2a) = (.twoD(channels: outChannels), .twoD(channels: outChannels), .twoD(channels: outChannels))
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try residual(conv1b(conv1a(x, normalizedBy: bn1a, activation: .leakyReLU), normalizedBy: bn1b), conv2a(x, normalizedBy: bn2a))
        }
    }

    /// A block that doubles the size and changes the width: a 5×5 stride-2 transposed
    /// convolution and a 3×3 convolution on one branch, a 1×1 stride-2 transposed
    /// convolution on the shortcut, both transposed ones with output padding 1 (the
    /// reference's `UpsampleBlock`).
    public final class UpsampleBlock: Module {
        /// The branch's 5×5 transposed convolution (stride 2, padding 2, output padding 1).
        public let conv1a: ConvTranspose2d
        /// The branch's 3×3 convolution (padding 1).
        public let conv1b: Conv2d
        /// The shortcut's 1×1 transposed convolution (stride 2, output padding 1).
        public let conv2a: ConvTranspose2d
        /// One BatchNorm per convolution.
        public let bn1a, bn1b, bn2a: BatchNorm

        init(_ inChannels: Int, _ outChannels: Int, generator: inout RandomGenerator) {
            conv1a = ConvTranspose2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 5, stride: 2, padding: 2,
                                     outputPadding: 1, bias: false, generator: &generator)
            conv1b = .threeByThree(outChannels, outChannels, stride: 1, generator: &generator)
            conv2a = ConvTranspose2d(inChannels: inChannels, outChannels: outChannels, kernelSize: 1, stride: 2,
                                     outputPadding: 1, bias: false, generator: &generator)
            (bn1a, bn1b, bn2a) = (.twoD(channels: outChannels), .twoD(channels: outChannels), .twoD(channels: outChannels))
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try residual(conv1b(bn1a(conv1a(x)).leakyRelu(), normalizedBy: bn1b), bn2a(conv2a(x)))
        }
    }

    /// The encoder's layers, named as in the reference's `MVTec_Encoder`.
    public final class Encoder: Module {
        /// The first 3×3 convolution, unpadded and without bias.
        public let conv: Conv2d
        /// The residual block at 32 channels.
        public let res: ResidualBlock
        /// The downsampling blocks 32→64, 64→128, 128→256.
        public let dwn1, dwn2, dwn3: DownsampleBlock
        /// The linear layer from the `256·(S/8)²` features to 256, and its BatchNorm1d.
        public let fc1: Linear
        /// The BatchNorm1d after ``fc1``.
        public let bn: BatchNorm
        /// The linear layer to the code.
        public let fc2: Linear

        init(_ c: ResidualInspectionConfiguration, generator: inout RandomGenerator) {
            conv = Conv2d(inChannels: c.channels, outChannels: 32, kernelSize: 3, bias: false, generator: &generator)
            res = ResidualBlock(channels: 32, generator: &generator)
            dwn1 = DownsampleBlock(32, 64, generator: &generator)
            dwn2 = DownsampleBlock(64, 128, generator: &generator)
            dwn3 = DownsampleBlock(128, 256, generator: &generator)
            fc1 = Linear(inFeatures: c.deepestFeatures, outFeatures: 256, generator: &generator)
            bn = .oneD(features: 256)
            fc2 = Linear(inFeatures: 256, outFeatures: c.codeLength, generator: &generator)
        }
    }

    /// The decoder's layers.
    public final class Decoder: Module {
        /// The linear layers: code → 256 → `256·(S/8)²`.
        public let fc1, fc2: Linear
        /// The BatchNorm1d after each linear layer.
        public let bn1, bn2: BatchNorm
        /// The upsampling blocks 256→128, 128→64, 64→32.
        public let up1, up2, up3: UpsampleBlock
        /// The residual block at 32 channels.
        public let res: ResidualBlock
        /// The 1×1 convolution to the image's channels, without bias.
        public let conv: Conv2d

        init(_ c: ResidualInspectionConfiguration, generator: inout RandomGenerator) {
            fc1 = Linear(inFeatures: c.codeLength, outFeatures: 256, generator: &generator)
            bn1 = .oneD(features: 256)
            fc2 = Linear(inFeatures: 256, outFeatures: c.deepestFeatures, generator: &generator)
            bn2 = .oneD(features: c.deepestFeatures)
            up1 = UpsampleBlock(256, 128, generator: &generator)
            up2 = UpsampleBlock(128, 64, generator: &generator)
            up3 = UpsampleBlock(64, 32, generator: &generator)
            res = ResidualBlock(channels: 32, generator: &generator)
            conv = Conv2d(inChannels: 32, outChannels: c.channels, kernelSize: 1, bias: false, generator: &generator)
        }
    }

    /// The taps, shallow to deep, named as the reference's encoder outputs.
    public static let taps = ["o1", "o2", "o3", "o4", "o5", "o7", "o8", "z"]
    /// The channels of each tap's output (the code length for `o8` and `z`).
    static func tapWidths(codeLength: Int) -> [Int] { [32, 32, 64, 128, 256, 256, codeLength, codeLength] }

    /// The configuration it was built from.
    public let configuration: ResidualInspectionConfiguration
    /// The encoder (what the one-class phase trains).
    public let encoderLayers: Encoder
    /// The decoder.
    public let decoderLayers: Decoder
    /// One head per tap: the reference's selectors with ``ResidualInspectionConfiguration/selectors``,
    /// global average pooling and the identity otherwise. Their parameters are saved as
    /// `heads.<tap index>.…`.
    public let heads: [TapHead]

    /// An autoencoder with freshly drawn weights (PyTorch's default initialisation).
    /// - Throws: ``NetworkError/invalidConfiguration(network:message:)`` for a configuration out of range.
    public init(_ configuration: ResidualInspectionConfiguration, generator: inout RandomGenerator) throws {
        try configuration.validate()
        self.configuration = configuration
        encoderLayers = Encoder(configuration, generator: &generator)
        decoderLayers = Decoder(configuration, generator: &generator)
        var heads: [TapHead] = []
        for (index, width) in Self.tapWidths(codeLength: configuration.codeLength).enumerated() {
            let spatial = index < 5
            switch (configuration.selectors, spatial) {
            case (true, true): heads.append(SpatialSelectorHead(channels: width, generator: &generator))
            case (true, false): heads.append(VectorSelectorHead(features: width, generator: &generator))
            case (false, true): heads.append(GlobalAveragePoolHead())
            case (false, false): heads.append(IdentityHead())
            }
        }
        self.heads = heads
    }

    /// `[channels, imageSize, imageSize]`.
    public var inputShape: [Int] { configuration.inputShape }
    /// The taps, as ``taps``.
    public var tapNames: [String] { Self.taps }
    /// The encoder.
    public var encoder: Module { encoderLayers }
    /// The heads, as ``heads``.
    public var tapHeads: [TapHead] { heads }

    /// Runs the encoder. Every tap is computed either way: the code `z` is the last tap.
    public func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding {
        try checkInput(x)
        let e = encoderLayers
        let o1 = try e.conv(x)
        let o2 = try e.res(o1.leakyRelu())
        let o3 = try e.dwn1(o2)
        let o4 = try e.dwn2(o3)
        let o5 = try e.dwn3(o4)
        let o7 = try e.bn(e.fc1(o5.flattened())).leakyRelu()
        let o8 = try e.fc2(o7)
        let z = try o8.sigmoid()
        return Encoding(taps: [o1, o2, o3, o4, o5, o7, o8, z], code: z)
    }

    /// Maps a code (the sigmoid `z`) back to an image, without an output activation.
    public func decode(_ code: Tensor) throws -> Tensor {
        let d = decoderLayers
        let side = configuration.imageSize / 8
        let h = try d.bn2(d.fc2(d.bn1(d.fc1(code)).leakyRelu())).leakyRelu()
        let map = try h.reshaped(to: [code.shape[0], 256, side, side])
        return try d.conv(d.res(d.up3(d.up2(d.up1(map)))))
    }
}

/// The reference's residual join: LeakyReLU of the branch plus the shortcut.
private func residual(_ branch: Tensor, _ shortcut: Tensor) throws -> Tensor {
    try (branch + shortcut).leakyRelu()
}

extension Conv2d {
    /// A 3×3 convolution with padding 1 and no bias: every convolution inside the residual blocks.
    fileprivate static func threeByThree(_ i: Int, _ o: Int, stride: Int, generator: inout RandomGenerator) -> Conv2d {
        Conv2d(inChannels: i, outChannels: o, kernelSize: 3, stride: stride, padding: 1, bias: false, generator: &generator)
    }
}

/// The reference's selector for a feature-map tap: adaptive max pooling to 8×8, a 1×1
/// convolution to one channel, then a two-layer perceptron to 128 features. It lets the
/// one-class phase learn which positions of a tap matter instead of averaging them all.
public final class SpatialSelectorHead: TapHead {
    /// The 1×1 convolution (with bias) from the tap's channels to one.
    public let conv: Conv2d
    /// The linear layers 64 → 256 → 128, with biases.
    public let fc1, fc2: Linear
    /// The BatchNorm1d between them (before the ReLU).
    public let bn: BatchNorm

    /// A selector for a tap with `channels` channels, weights from PyTorch's default initialisation.
    public init(channels: Int, generator: inout RandomGenerator) {
        conv = Conv2d(inChannels: channels, outChannels: 1, kernelSize: 1, generator: &generator)
        fc1 = Linear(inFeatures: 64, outFeatures: 256, generator: &generator)
        bn = .oneD(features: 256)
        fc2 = Linear(inFeatures: 256, outFeatures: Self.outputFeatures, generator: &generator)
    }

    /// The features a selector gives each sample: 128, as the reference's.
    public static let outputFeatures = 128

    /// `[N, C, H, W]` to `[N, 128]`.
    public override func callAsFunction(_ input: Tensor) throws -> Tensor {
        let pooled = try Tensor.adaptiveMaxPool2d(input, outputSize: (8, 8))
        return try fc2(bn(fc1(conv(pooled).flattened())).relu())
    }
}

/// The reference's selector for a vector tap: a two-layer perceptron to 128 features,
/// trained with the encoder in the one-class phase.
public final class VectorSelectorHead: TapHead {
    /// The linear layers `features` → 256 → 128, with biases.
    public let fc1, fc2: Linear
    /// The BatchNorm1d between them (before the ReLU).
    public let bn: BatchNorm

    /// A selector for a tap of `features` values per sample.
    public init(features: Int, generator: inout RandomGenerator) {
        fc1 = Linear(inFeatures: features, outFeatures: 256, generator: &generator)
        bn = .oneD(features: 256)
        fc2 = Linear(inFeatures: 256, outFeatures: SpatialSelectorHead.outputFeatures, generator: &generator)
    }

    /// `[N, features]` to `[N, 128]`.
    public override func callAsFunction(_ input: Tensor) throws -> Tensor {
        try fc2(bn(fc1(input)).relu())
    }
}
