import MOCCACore
import MOCCANN

/// The configuration of ``MLPAutoencoder``, registered as `mlp`: an autoencoder for
/// vectors (table rows, embeddings).
public struct MLPAutoencoderConfiguration: NetworkConfiguration {
    /// `mlp`.
    public static let networkName = "mlp"
    /// What the network is for.
    public static let summary = "a fully connected autoencoder for vectors (tables, embeddings)"
    /// The length of one input vector; it must be set (there is no natural default).
    public var inputFeatures = 0
    /// The widths of the hidden layers between the input and the code, each a tap.
    public var hiddenSizes = [64]
    /// The code length. With the default hidden layer, `d → 64 → 32` is PyOD's DeepSVDD default.
    public var codeLength = 32
    /// Whether a non-affine BatchNorm follows each hidden layer.
    public var batchNorm = false

    /// The defaults; ``inputFeatures`` still has to be set.
    public init() {}
    /// Fields missing from a stored configuration take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        inputFeatures = try c.decodeIfPresent(Int.self, forKey: .inputFeatures) ?? defaults.inputFeatures
        hiddenSizes = try c.decodeIfPresent([Int].self, forKey: .hiddenSizes) ?? defaults.hiddenSizes
        codeLength = try c.decodeIfPresent(Int.self, forKey: .codeLength) ?? defaults.codeLength
        batchNorm = try c.decodeIfPresent(Bool.self, forKey: .batchNorm) ?? defaults.batchNorm
    }

    /// `[inputFeatures]`.
    public var inputShape: [Int] { [inputFeatures] }
    /// `hidden1`, `hidden2`, ..., then `code`.
    public var tapNames: [String] { hiddenSizes.indices.map { "hidden\($0 + 1)" } + ["code"] }

    /// The most weights a configuration may ask for: 2^28 floats, 1 GiB. More would only
    /// come from a mistake or a damaged manifest, and would allocate before failing.
    public static let maximumWeights = 1 << 28

    /// Checks that every width is positive and the weights fit ``maximumWeights``.
    public func validate() throws {
        func fail(_ message: String) throws -> Never { throw NetworkError.invalidConfiguration(network: Self.networkName, message: message) }
        if inputFeatures <= 0 { try fail("inputFeatures must be set to the length of one input vector, got \(inputFeatures)") }
        if let bad = hiddenSizes.first(where: { $0 <= 0 }) { try fail("hidden sizes must be positive, got \(bad)") }
        if codeLength <= 0 { try fail("the code length must be positive, got \(codeLength)") }
        let widths = [inputFeatures] + hiddenSizes + [codeLength]
        // Encoder and decoder mirror each other: twice the products of neighbouring widths,
        // counted in Double so that absurd widths cannot overflow.
        let weights = zip(widths, widths.dropFirst()).reduce(0.0) { $0 + 2 * Double($1.0) * Double($1.1) }
        if weights > Double(Self.maximumWeights) { try fail("the widths \(widths) need over \(Self.maximumWeights) weights") }
    }

    /// The autoencoder.
    public func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork {
        try validate()
        return MLPAutoencoder(self, generator: &generator)
    }
}

/// A fully connected autoencoder for vectors `[N, D]`.
///
/// Encoder: linear → (BatchNorm) → LeakyReLU per hidden layer, then a linear map to the
/// code without bias (Deep SVDD's rule against trivial solutions). The decoder mirrors
/// it and ends linearly, since inputs are standardised rather than in `[0, 1]`. Every
/// hidden layer's activation and the code are taps, through the identity.
public final class MLPAutoencoder: Module, TappedAutoencoder {
    /// One linear layer, optionally followed by BatchNorm, then LeakyReLU.
    public final class Block: Module {
        /// The linear layer.
        public let linear: Linear
        /// The non-affine BatchNorm, when enabled.
        public let norm: BatchNorm?

        init(_ inFeatures: Int, _ outFeatures: Int, batchNorm: Bool, generator: inout RandomGenerator) {
            linear = Linear(inFeatures: inFeatures, outFeatures: outFeatures, bias: !batchNorm, generator: &generator)
            norm = batchNorm ? .oneD(features: outFeatures, epsilon: 1e-4, affine: false) : nil
        }

        func callAsFunction(_ x: Tensor) throws -> Tensor {
            let h = try linear(x)
            return try (norm.map { try $0(h) } ?? h).leakyRelu()
        }
    }

    /// The encoder's hidden blocks and its code layer.
    public final class Encoder: Module {
        /// The hidden blocks, input to deepest.
        public let blocks: [Block]
        /// The map to the code, without bias.
        public let code: Linear

        init(_ c: MLPAutoencoderConfiguration, generator: inout RandomGenerator) {
            let widths = [c.inputFeatures] + c.hiddenSizes
            var blocks: [Block] = []
            for (i, o) in zip(widths, widths.dropFirst()) { blocks.append(Block(i, o, batchNorm: c.batchNorm, generator: &generator)) }
            self.blocks = blocks
            code = Linear(inFeatures: widths.last ?? c.inputFeatures, outFeatures: c.codeLength, bias: false, generator: &generator)
        }
    }

    /// The decoder's hidden blocks and its output layer.
    public final class Decoder: Module {
        /// The hidden blocks, code to shallowest.
        public let blocks: [Block]
        /// The map back to the input's length.
        public let output: Linear

        init(_ c: MLPAutoencoderConfiguration, generator: inout RandomGenerator) {
            let widths = [c.codeLength] + c.hiddenSizes.reversed()
            var blocks: [Block] = []
            for (i, o) in zip(widths, widths.dropFirst()) { blocks.append(Block(i, o, batchNorm: c.batchNorm, generator: &generator)) }
            self.blocks = blocks
            output = Linear(inFeatures: widths.last ?? c.codeLength, outFeatures: c.inputFeatures, generator: &generator)
        }
    }

    /// The configuration it was built from.
    public let configuration: MLPAutoencoderConfiguration
    /// The encoder.
    public let encoderLayers: Encoder
    /// The decoder.
    public let decoderLayers: Decoder
    /// The identity for every tap.
    public let heads: [TapHead]

    /// An autoencoder with freshly drawn weights (PyTorch's default initialisation).
    public init(_ configuration: MLPAutoencoderConfiguration, generator: inout RandomGenerator) {
        self.configuration = configuration
        encoderLayers = Encoder(configuration, generator: &generator)
        decoderLayers = Decoder(configuration, generator: &generator)
        heads = configuration.tapNames.map { _ in IdentityHead() }
    }

    /// `[inputFeatures]`.
    public var inputShape: [Int] { configuration.inputShape }
    /// `hidden1`, ..., `code`.
    public var tapNames: [String] { configuration.tapNames }
    /// The encoder.
    public var encoder: Module { encoderLayers }
    /// The heads, as ``heads``.
    public var tapHeads: [TapHead] { heads }

    /// Runs the encoder; the taps are the hidden activations and the code.
    public func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding {
        try checkInput(x)
        var taps: [Tensor] = []
        var h = x
        for block in encoderLayers.blocks {
            h = try block(h)
            taps.append(h)
        }
        let code = try encoderLayers.code(h)
        taps.append(code)
        return Encoding(taps: taps, code: code)
    }

    /// Maps a code back to a vector of the input's length.
    public func decode(_ code: Tensor) throws -> Tensor {
        var h = code
        for block in decoderLayers.blocks { h = try block(h) }
        return try decoderLayers.output(h)
    }
}
