import MOCCACore

/// The configuration of ``ResidualInspectionAutoencoder``, registered as `mvtec-resnet`:
/// MOCCA's residual autoencoder for industrial inspection images (MVTec AD).
public struct ResidualInspectionConfiguration: NetworkConfiguration {
    /// `mvtec-resnet`.
    public static let networkName = "mvtec-resnet"
    /// What the network is for.
    public static let summary = "MOCCA's residual autoencoder for square inspection images (MVTec AD), 1 or 3 channels"
    /// The image channels: 3 (colour) or 1 (grey).
    public var channels = 3
    /// The side of the square images: a multiple of 8 (the encoder halves the size three
    /// times after its unpadded first convolution), at least 16. The reference uses 128.
    public var imageSize = 128
    /// The code length; the reference's default is 64.
    public var codeLength = 64
    /// Whether the taps get the reference's trainable selector heads (``SpatialSelectorHead``,
    /// ``VectorSelectorHead``) instead of global average pooling and the identity.
    public var selectors = false

    /// The reference's defaults: colour 128×128 images, a code of 64, no selectors.
    public init() {}
    /// Fields missing from a stored configuration take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = Self()
        channels = try c.decodeIfPresent(Int.self, forKey: .channels) ?? defaults.channels
        imageSize = try c.decodeIfPresent(Int.self, forKey: .imageSize) ?? defaults.imageSize
        codeLength = try c.decodeIfPresent(Int.self, forKey: .codeLength) ?? defaults.codeLength
        selectors = try c.decodeIfPresent(Bool.self, forKey: .selectors) ?? defaults.selectors
    }

    /// `[channels, imageSize, imageSize]`.
    public var inputShape: [Int] { [channels, imageSize, imageSize] }
    /// `o1`, `o2`, `o3`, `o4`, `o5`, `o7`, `o8`, `z`: the reference's encoder outputs.
    public var tapNames: [String] { ResidualInspectionAutoencoder.taps }

    /// The features of the deepest map, `256·(S/8)²`: the width of the encoder's first and
    /// the decoder's second linear layer.
    var deepestFeatures: Int { 256 * (imageSize / 8) * (imageSize / 8) }

    /// The most weights a configuration may ask for, as ``MLPAutoencoderConfiguration/maximumWeights``:
    /// 2^28 floats. The linear layers around the deepest map grow with the image's area, so an
    /// absurd size would otherwise allocate gigabytes before failing.
    public static let maximumWeights = MLPAutoencoderConfiguration.maximumWeights

    /// The weights of the two linear layers at the deepest map and the code's linear layers,
    /// counted in Double so that absurd sizes cannot overflow; the convolutions add a fixed
    /// ~3 million.
    var largeWeightCount: Double {
        let side = Double(imageSize / 8)
        let deepest = 256 * side * side
        return 2 * 256 * deepest + 2 * deepest + 2 * 256 * Double(codeLength) + 3_000_000
    }

    /// Checks every field; the error names the first bad one.
    public func validate() throws {
        func fail(_ message: String) throws -> Never { throw NetworkError.invalidConfiguration(network: Self.networkName, message: message) }
        if channels != 1, channels != 3 { try fail("channels must be 1 or 3, got \(channels)") }
        if imageSize < 16 || imageSize % 8 != 0 { try fail("imageSize must be a multiple of 8 of at least 16, got \(imageSize)") }
        if codeLength <= 0 { try fail("codeLength must be positive, got \(codeLength)") }
        if largeWeightCount > Double(Self.maximumWeights) {
            try fail("imageSize \(imageSize) with codeLength \(codeLength) needs over \(Self.maximumWeights) weights")
        }
    }

    /// The autoencoder.
    public func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork {
        try ResidualInspectionAutoencoder(self, generator: &generator)
    }
}
