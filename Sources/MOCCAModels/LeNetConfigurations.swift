import MOCCACore

/// The configuration of ``CIFAR10LeNetAutoencoder``, registered as `cifar10-lenet`.
public struct CIFAR10LeNetConfiguration: NetworkConfiguration {
    /// `cifar10-lenet`.
    public static let networkName = "cifar10-lenet"
    /// What the network is for.
    public static let summary = "Deep SVDD's LeNet-type autoencoder for 3x32x32 images (CIFAR-10)"
    /// The code length, a positive multiple of 16 (the decoder views the code as `[code/16, 4, 4]`).
    public var codeLength = 128

    /// The reference's code length, 128.
    public init() {}
    /// Fields missing from a stored configuration take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        codeLength = try c.decodeIfPresent(Int.self, forKey: .codeLength) ?? 128
    }

    /// `[3, 32, 32]`.
    public var inputShape: [Int] { [3, 32, 32] }
    /// The three convolutions and the code.
    public var tapNames: [String] { CIFAR10LeNetAutoencoder.taps }
    /// Checks the code length.
    public func validate() throws { try validateLeNetCode(codeLength, network: Self.networkName) }
    /// The autoencoder.
    public func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork {
        try CIFAR10LeNetAutoencoder(codeLength: codeLength, generator: &generator)
    }
}

/// The configuration of ``MNISTLeNetAutoencoder``, registered as `mnist-lenet`.
public struct MNISTLeNetConfiguration: NetworkConfiguration {
    /// `mnist-lenet`.
    public static let networkName = "mnist-lenet"
    /// What the network is for.
    public static let summary = "Deep SVDD's LeNet-type autoencoder for 1x28x28 images (MNIST, Fashion-MNIST)"
    /// The code length, a positive multiple of 16 (the decoder views the code as `[code/16, 4, 4]`).
    public var codeLength = 32

    /// The reference's code length, 32.
    public init() {}
    /// Fields missing from a stored configuration take their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        codeLength = try c.decodeIfPresent(Int.self, forKey: .codeLength) ?? 32
    }

    /// `[1, 28, 28]`.
    public var inputShape: [Int] { [1, 28, 28] }
    /// The two convolutions and the code.
    public var tapNames: [String] { MNISTLeNetAutoencoder.taps }
    /// Checks the code length.
    public func validate() throws { try validateLeNetCode(codeLength, network: Self.networkName) }
    /// The autoencoder.
    public func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork {
        try MNISTLeNetAutoencoder(codeLength: codeLength, generator: &generator)
    }
}

/// The LeNets' decoders view the code as `[code/16, 4, 4]`; a code beyond 4,096 would only
/// come from a damaged manifest, and would allocate gigabytes before failing.
private func validateLeNetCode(_ codeLength: Int, network: String) throws {
    guard codeLength > 0, codeLength % 16 == 0, codeLength <= 4096 else {
        throw NetworkError.invalidConfiguration(network: network, message: "the code length must be a positive multiple of 16 up to 4096, got \(codeLength)")
    }
}
