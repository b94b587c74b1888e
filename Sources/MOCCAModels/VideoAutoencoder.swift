import MOCCACore
import MOCCANN

/// The causal 3-D convolutional autoencoder MOCCA uses on video (ShanghaiTech; Massoli et
/// al., 2020), for clips `[C, T, H, W]` with `T` a multiple of 4 and `H`, `W` multiples of 32.
///
/// It follows the paper's reference PyTorch code (`models/shanghaitech_model.py` of
/// `fvmassoli/mocca`, itself from LSA, Abati et al., 2019):
/// - Encoder: five downsampling blocks 3→8→16→32→64→64 with strides `(t, h, w)` (1,2,2),
///   (1,2,2), (2,2,2), (1,2,2), (2,2,2) (taps `c1` … `c5`), so the clip's `T` frames become
///   `T/4` time steps of `64 × H/32 × W/32`. At every step, one shared linear layer from the
///   flattened map to 512 and its tanh (tap `fc1`, `[N, T/4, 512]`), then one to the code and
///   its sigmoid (tap `code`, `[N, T/4, codeLength]`): the code has one vector per step.
/// - A downsampling block mirrors ``ResidualInspectionAutoencoder/DownsampleBlock`` in 3-D:
///   a strided *causal* 3×3×3 convolution and a causal 3×3×3 one on the branch, a strided
///   1×1×1 convolution on the shortcut, each without bias and with its BatchNorm3d, the sum
///   through a LeakyReLU. Causal: output frame `t` sees input frames up to `t` only (see
///   ``MOCCANN/Conv3d/causal``), so in evaluation mode a step of the code depends on the
///   clip's past alone. (Training-mode BatchNorm mixes frames through its batch statistics.)
/// - Decoder, at every step: linear code→512, tanh, linear 512→`64·(H/32)·(W/32)`, LeakyReLU;
///   the steps stacked back into `[N, 64, T/4, H/32, W/32]`; five upsampling blocks
///   64→64→32→16→8→8 with the encoder's strides in reverse (a 5×5×5 transposed convolution,
///   padding 2 and output padding `stride − 1`, and a 3×3×3 convolution on the branch; a
///   1×1×1 transposed convolution on the shortcut; BatchNorm3d after each); a 1×1×1
///   convolution with bias to `C` channels and no output activation.
/// - Every tap's head is a ``TemporalLSTMHead`` (hidden size
///   ``VideoAutoencoderConfiguration/lstmHidden``): the one-class phase trains them with the
///   encoder (``TappedNetwork/oneClassParameters``).
///
/// LeakyReLU's slope is 0.01; BatchNorms have ε 1e-5 and momentum 0.1; the linear layers have
/// biases. Deviations from the reference: causality comes from padding the time axis with two
/// zero frames before (``MOCCANN/Conv3d`` with `causal: true`), not from LSA's masked kernel
/// (a symmetric padding with the kernel's future tap zeroed, which sees frames `t − 1`, `t`
/// where this sees `t − 2` … `t`); the upsampling shortcut is a 1×1×1 transposed convolution,
/// as in the MVTec network; and the decoder stacks its steps back with the inverse of the
/// encoder's flattening, where the reference's `transpose(1, 2).view(...)` interleaves the
/// features of different steps within each channel (a fixed permutation of a learned layer's
/// outputs, so the two are equally expressive). Weight-file keys are this module's
/// (`encoderLayers.dwn1.conv1a.weight`, `heads.5.lstm.weight_ih_l0`, ...).
///
/// The encoder's last time step is computed from frames up to `T − 4` (the strided time axes
/// sample even positions), so the last three frames of a clip do not reach the code; the
/// reference behaves the same way.
public final class VideoAutoencoder: Module, TappedAutoencoder {
    /// A block that downsamples by its stride and changes the width, causal in time.
    public final class DownsampleBlock: Module {
        /// The branch's causal 3×3×3 convolutions (spatial padding 1, no bias): strided, then stride 1.
        public let conv1a, conv1b: Conv3d
        /// The shortcut's strided 1×1×1 convolution (no bias).
        public let conv2a: Conv3d
        /// One BatchNorm3d per convolution.
        public let bn1a, bn1b, bn2a: BatchNorm

        init(_ inChannels: Int, _ outChannels: Int, stride: Size3D, generator: inout RandomGenerator) {
            conv1a = Conv3d(inChannels: inChannels, outChannels: outChannels, kernelSize: 3, stride: stride, padding: [0, 1, 1],
                            bias: false, causal: true, generator: &generator)
            conv1b = Conv3d(inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: [0, 1, 1],
                            bias: false, causal: true, generator: &generator)
            conv2a = Conv3d(inChannels: inChannels, outChannels: outChannels, kernelSize: 1, stride: stride, bias: false,
                            generator: &generator)
            (bn1a, bn1b, bn2a) = (.threeD(channels: outChannels), .threeD(channels: outChannels), .threeD(channels: outChannels))
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try residual(bn1b(conv1b(bn1a(conv1a(x)).leakyRelu())), bn2a(conv2a(x)))
        }
    }

    /// A block that upsamples by its stride and changes the width.
    public final class UpsampleBlock: Module {
        /// The branch's 5×5×5 transposed convolution (padding 2, output padding `stride − 1`, no bias).
        public let conv1a: ConvTranspose3d
        /// The branch's 3×3×3 convolution (padding 1, no bias).
        public let conv1b: Conv3d
        /// The shortcut's 1×1×1 transposed convolution (output padding `stride − 1`, no bias).
        public let conv2a: ConvTranspose3d
        /// One BatchNorm3d per convolution.
        public let bn1a, bn1b, bn2a: BatchNorm

        init(_ inChannels: Int, _ outChannels: Int, stride: Size3D, generator: inout RandomGenerator) {
            let outputPadding = Size3D(stride.time - 1, stride.height - 1, stride.width - 1)
            conv1a = ConvTranspose3d(inChannels: inChannels, outChannels: outChannels, kernelSize: 5, stride: stride, padding: 2,
                                     outputPadding: outputPadding, bias: false, generator: &generator)
            conv1b = Conv3d(inChannels: outChannels, outChannels: outChannels, kernelSize: 3, padding: 1, bias: false,
                            generator: &generator)
            conv2a = ConvTranspose3d(inChannels: inChannels, outChannels: outChannels, kernelSize: 1, stride: stride,
                                     outputPadding: outputPadding, bias: false, generator: &generator)
            (bn1a, bn1b, bn2a) = (.threeD(channels: outChannels), .threeD(channels: outChannels), .threeD(channels: outChannels))
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            try residual(bn1b(conv1b(bn1a(conv1a(x)).leakyRelu())), bn2a(conv2a(x)))
        }
    }

    /// The encoder's layers, named as the reference's.
    public final class Encoder: Module {
        /// The downsampling blocks (taps `c1` … `c5`).
        public let dwn1, dwn2, dwn3, dwn4, dwn5: DownsampleBlock
        /// The per-step linear layer from the flattened deepest map to 512 (tap `fc1` after its tanh).
        public let fc1: Linear
        /// The per-step linear layer to the code (tap `code` after its sigmoid).
        public let fc2: Linear

        init(_ c: VideoAutoencoderConfiguration, generator: inout RandomGenerator) {
            let (s, w) = (VideoAutoencoder.encoderStrides, VideoAutoencoder.encoderWidths)
            dwn1 = DownsampleBlock(c.channels, w[0], stride: s[0], generator: &generator)
            dwn2 = DownsampleBlock(w[0], w[1], stride: s[1], generator: &generator)
            dwn3 = DownsampleBlock(w[1], w[2], stride: s[2], generator: &generator)
            dwn4 = DownsampleBlock(w[2], w[3], stride: s[3], generator: &generator)
            dwn5 = DownsampleBlock(w[3], w[4], stride: s[4], generator: &generator)
            fc1 = Linear(inFeatures: c.deepestFeatures, outFeatures: 512, generator: &generator)
            fc2 = Linear(inFeatures: 512, outFeatures: c.codeLength, generator: &generator)
        }
    }

    /// The decoder's layers.
    public final class Decoder: Module {
        /// The per-step linear layers: code → 512 → `64·(H/32)·(W/32)`.
        public let fc1, fc2: Linear
        /// The upsampling blocks 64→64, 64→32, 32→16, 16→8, 8→8.
        public let up1, up2, up3, up4, up5: UpsampleBlock
        /// The 1×1×1 convolution (with bias) to the clip's channels.
        public let conv: Conv3d

        init(_ c: VideoAutoencoderConfiguration, generator: inout RandomGenerator) {
            let s = Array(VideoAutoencoder.encoderStrides.reversed())
            fc1 = Linear(inFeatures: c.codeLength, outFeatures: 512, generator: &generator)
            fc2 = Linear(inFeatures: 512, outFeatures: c.deepestFeatures, generator: &generator)
            up1 = UpsampleBlock(64, 64, stride: s[0], generator: &generator)
            up2 = UpsampleBlock(64, 32, stride: s[1], generator: &generator)
            up3 = UpsampleBlock(32, 16, stride: s[2], generator: &generator)
            up4 = UpsampleBlock(16, 8, stride: s[3], generator: &generator)
            up5 = UpsampleBlock(8, 8, stride: s[4], generator: &generator)
            conv = Conv3d(inChannels: 8, outChannels: c.channels, kernelSize: 1, generator: &generator)
        }
    }

    /// The taps, shallow to deep: the five blocks, the tanh of the first linear layer and the code.
    public static let taps = ["c1", "c2", "c3", "c4", "c5", "fc1", "code"]
    /// The encoder blocks' strides `(t, h, w)`.
    static let encoderStrides: [Size3D] = [[1, 2, 2], [1, 2, 2], [2, 2, 2], [1, 2, 2], [2, 2, 2]]
    /// The encoder blocks' widths.
    static let encoderWidths = [8, 16, 32, 64, 64]
    /// The channels of the deepest map.
    static let deepestChannels = 64
    /// The features per time step of each tap (the widths its head's LSTM reads).
    static func tapWidths(codeLength: Int) -> [Int] { encoderWidths + [512, codeLength] }

    /// The configuration it was built from.
    public let configuration: VideoAutoencoderConfiguration
    /// The encoder (what the one-class phase trains, with the heads).
    public let encoderLayers: Encoder
    /// The decoder.
    public let decoderLayers: Decoder
    /// One ``TemporalLSTMHead`` per tap, saved as `heads.<tap index>.lstm.…`.
    public let heads: [TapHead]

    /// An autoencoder with freshly drawn weights (PyTorch's default initialisation).
    /// - Throws: ``NetworkError/invalidConfiguration(network:message:)`` for a configuration out of range.
    public init(_ configuration: VideoAutoencoderConfiguration, generator: inout RandomGenerator) throws {
        try configuration.validate()
        self.configuration = configuration
        encoderLayers = Encoder(configuration, generator: &generator)
        decoderLayers = Decoder(configuration, generator: &generator)
        var heads: [TapHead] = []
        for (index, width) in Self.tapWidths(codeLength: configuration.codeLength).enumerated() {
            heads.append(configuration.selectors
                ? TemporalLSTMHead(selectingFrom: width, spatial: index < Self.encoderWidths.count, hiddenSize: configuration.lstmHidden, generator: &generator)
                : TemporalLSTMHead(features: width, hiddenSize: configuration.lstmHidden, generator: &generator))
        }
        self.heads = heads
    }

    /// `[channels, clipLength, height, width]`.
    public var inputShape: [Int] { configuration.inputShape }
    /// The taps, as ``taps``.
    public var tapNames: [String] { Self.taps }
    /// The encoder.
    public var encoder: Module { encoderLayers }
    /// The heads, as ``heads``.
    public var tapHeads: [TapHead] { heads }

    /// Runs the encoder. Every tap is computed either way: the code is the last tap.
    public func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding {
        try checkInput(x)
        let e = encoderLayers
        let c1 = try e.dwn1(x)
        let c2 = try e.dwn2(c1)
        let c3 = try e.dwn3(c2)
        let c4 = try e.dwn4(c3)
        let c5 = try e.dwn5(c4)
        let rows = try Self.stepRows(ofMap: c5)                    // [T'·N, 64·h·w], step-major
        let fc1 = try e.fc1(rows).tanh()
        let code = try e.fc2(fc1).sigmoid()
        let n = x.shape[0]
        let (fc1Steps, codeSteps) = (try Self.sequence(fromRows: fc1, batch: n), try Self.sequence(fromRows: code, batch: n))
        return Encoding(taps: [c1, c2, c3, c4, c5, fc1Steps, codeSteps], code: codeSteps)
    }

    /// Maps a code `[N, T/4, codeLength]` back to a clip `[N, C, T, H, W]`, without an output activation.
    public func decode(_ code: Tensor) throws -> Tensor {
        guard code.rank == 3, code.shape[2] == configuration.codeLength else {
            throw TensorError.shapeMismatch(op: "VideoAutoencoder.decode",
                                            message: "expected a code [N, steps, \(configuration.codeLength)], got \(code.shape)")
        }
        let d = decoderLayers
        let (n, steps) = (code.shape[0], code.shape[1])
        let rows = try Self.stepRows(ofSequence: code)                // [T'·N, code], step-major
        let features = try d.fc2(d.fc1(rows).tanh()).leakyRelu()
        let (h, w) = (configuration.height / 32, configuration.width / 32)
        let map = try Tensor.concatenate((0..<steps).map { t in
            try features.slice(alongAxis: 0, (t * n)..<((t + 1) * n)).reshaped(to: [n, Self.deepestChannels, 1, h, w])
        }, alongAxis: 2)                                              // [N, 64, T', h, w]
        return try d.conv(d.up5(d.up4(d.up3(d.up2(d.up1(map))))))
    }

    /// A batch-first sequence `[N, T, D]` as the step-major rows `[T·N, D]`: row `t·N + n`
    /// is sample `n`'s step `t` (the inverse of ``sequence(fromRows:batch:)``).
    static func stepRows(ofSequence sequence: Tensor) throws -> Tensor {
        let (n, steps, width) = (sequence.shape[0], sequence.shape[1], sequence.shape[2])
        return try Tensor.concatenate((0..<steps).map { t in
            try sequence.slice(alongAxis: 1, t..<(t + 1)).reshaped(to: [n, width])
        }, alongAxis: 0)
    }

    /// `[N, C, T, H, W]` as the step-major batch of feature maps `[T·N, C, H, W]`: item
    /// `t·N + n` is sample `n`'s map at step `t`.
    static func stepMaps(_ map: Tensor) throws -> Tensor {
        let (n, c, steps, h, w) = (map.shape[0], map.shape[1], map.shape[2], map.shape[3], map.shape[4])
        return try Tensor.concatenate((0..<steps).map { t in
            try map.slice(alongAxis: 2, t..<(t + 1)).reshaped(to: [n, c, h, w])
        }, alongAxis: 0)
    }

    /// `[N, C, T, h, w]` as the rows `[T·N, C·h·w]`, step-major: row `t·N + n` is sample `n`'s
    /// map at step `t`, flattened channel-major as PyTorch's `permute(0, 2, 1, 3, 4)` then
    /// `reshape(N, T, -1)` flattens it.
    static func stepRows(ofMap map: Tensor) throws -> Tensor {
        let (n, steps) = (map.shape[0], map.shape[2])
        let features = map.shape[1] * map.shape[3] * map.shape[4]
        return try Tensor.concatenate((0..<steps).map { t in
            try map.slice(alongAxis: 2, t..<(t + 1)).reshaped(to: [n, features])
        }, alongAxis: 0)
    }

    /// Step-major rows `[T·N, D]` as the batch-first sequence `[N, T, D]`.
    static func sequence(fromRows rows: Tensor, batch n: Int) throws -> Tensor {
        let (steps, width) = (rows.shape[0] / n, rows.shape[1])
        return try Tensor.concatenate((0..<steps).map { t in
            try rows.slice(alongAxis: 0, (t * n)..<((t + 1) * n)).reshaped(to: [n, 1, width])
        }, alongAxis: 1)
    }
}

/// The reference's residual join: LeakyReLU of the branch plus the shortcut.
private func residual(_ branch: Tensor, _ shortcut: Tensor) throws -> Tensor {
    try (branch + shortcut).leakyRelu()
}
