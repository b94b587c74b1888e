import MOCCACore

/// The configuration of ``VideoAutoencoder``, registered as `video-c3d`: MOCCA's causal 3-D
/// convolutional autoencoder for video clips (ShanghaiTech, UCSD Ped2).
///
/// The default clip is 16 grey frames of 64×96. Ped2's frames are 240×360 grey; the
/// reference resizes ShanghaiTech to 256×512. 64×96 keeps Ped2's 2:3 aspect at a size whose
/// pre-training step (forward, backward and Adam over a batch of 8 clips) takes about a
/// second on a 2-core CPU, where 128×192 costs four times as much; ask for a larger size
/// where there are more cores.
public struct VideoAutoencoderConfiguration: NetworkConfiguration {
    /// `video-c3d`.
    public static let networkName = "video-c3d"
    /// What the network is for.
    public static let summary = "MOCCA's causal 3-D convolutional autoencoder for video clips [C, T, H, W] (ShanghaiTech, Ped2)"
    /// The frame channels: 1 (grey, the default) or 3 (colour).
    public var channels = 1
    /// The frames per clip: a positive multiple of 4 (the encoder halves the time axis twice).
    /// The reference uses 16.
    public var clipLength = 16
    /// The frame height: a positive multiple of 32 (the encoder halves it five times).
    public var height = 64
    /// The frame width: a positive multiple of 32.
    public var width = 96
    /// The length of the code at each of the encoder's `clipLength / 4` time steps; the
    /// reference's default is 64.
    public var codeLength = 64
    /// The hidden size of each tap's ``TemporalLSTMHead``; the paper uses 100.
    public var lstmHidden = 100
    /// Whether each tap's head first passes every time step through the industrial
    /// network's selector (``SpatialSelectorHead`` for the five convolutional taps,
    /// ``VectorSelectorHead`` for `fc1` and `code`), trained in the one-class phase; off by
    /// default, as the reference's video model has none.
    public var selectors = false

    /// 16 grey frames of 64×96, a code of 64, LSTM heads of 100 (see the type's documentation).
    public init() {}
    /// Fields missing from a stored configuration take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? defaults.channels
        clipLength = try c.decodeIfPresent(Int.self, forKey: .clipLength) ?? defaults.clipLength
        height = try c.decodeIfPresent(Int.self, forKey: .height) ?? defaults.height
        width = try c.decodeIfPresent(Int.self, forKey: .width) ?? defaults.width
        codeLength = try c.decodeIfPresent(Int.self, forKey: .codeLength) ?? defaults.codeLength
        lstmHidden = try c.decodeIfPresent(Int.self, forKey: .lstmHidden) ?? defaults.lstmHidden
        selectors = try c.decodeIfPresent(Bool.self, forKey: .selectors) ?? defaults.selectors
    }

    /// `[channels, clipLength, height, width]`.
    public var inputShape: [Int] { [channels, clipLength, height, width] }
    /// `c1` … `c5`, `fc1`, `code`.
    public var tapNames: [String] { VideoAutoencoder.taps }

    /// The encoder's time steps after its two temporal halvings: `clipLength / 4`.
    public var steps: Int { clipLength / 4 }
    /// The features of the deepest map at one time step, `64·(H/32)·(W/32)`: the input of the
    /// encoder's first and the output of the decoder's second linear layer.
    var deepestFeatures: Int { VideoAutoencoder.deepestChannels * (height / 32) * (width / 32) }

    /// The most weights a configuration may ask for, as ``MLPAutoencoderConfiguration/maximumWeights``.
    public static let maximumWeights = MLPAutoencoderConfiguration.maximumWeights

    /// The weights that grow with the configuration — the linear layers at the deepest map
    /// and around the code, and the seven LSTM heads — counted in Double so that absurd sizes
    /// cannot overflow; the convolutions add a fixed ~1.5 million.
    var largeWeightCount: Double {
        let deepest = Double(VideoAutoencoder.deepestChannels) * Double(height / 32) * Double(width / 32)
        let code = Double(codeLength), hidden = Double(lstmHidden)
        let linear = 2 * (512 * deepest + deepest) + 2 * 512 * code
        let heads = VideoAutoencoder.tapWidths(codeLength: codeLength).reduce(0.0) { $0 + 4 * hidden * (Double($1) + hidden + 2) }
        return linear + heads + 1_500_000
    }

    /// Checks every field; the error names the first bad one.
    public func validate() throws {
        func fail(_ message: String) throws -> Never { throw NetworkError.invalidConfiguration(network: Self.networkName, message: message) }
        if channels != 1, channels != 3 { try fail("channels must be 1 or 3, got \(channels)") }
        if clipLength < 4 || clipLength % 4 != 0 { try fail("clipLength must be a positive multiple of 4, got \(clipLength)") }
        if height < 32 || height % 32 != 0 { try fail("height must be a positive multiple of 32, got \(height)") }
        if width < 32 || width % 32 != 0 { try fail("width must be a positive multiple of 32, got \(width)") }
        if codeLength <= 0 { try fail("codeLength must be positive, got \(codeLength)") }
        if lstmHidden <= 0 { try fail("lstmHidden must be positive, got \(lstmHidden)") }
        if largeWeightCount > Double(Self.maximumWeights) {
            try fail("height \(height), width \(width), codeLength \(codeLength) and lstmHidden \(lstmHidden) need over \(Self.maximumWeights) weights")
        }
    }

    /// The autoencoder.
    public func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork {
        try VideoAutoencoder(self, generator: &generator)
    }
}
