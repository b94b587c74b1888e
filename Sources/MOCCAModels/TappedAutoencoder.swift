import MOCCACore
import MOCCANN

/// What an encoder computes on the way to its code.
public struct Encoding {
    /// The outputs of the taps, in the network's ``TappedNetwork/tapNames`` order.
    public var taps: [Tensor]
    /// What the decoder reads. Nil when only the taps were asked for.
    public var code: Tensor?

    /// An encoding from its parts.
    public init(taps: [Tensor], code: Tensor?) {
        self.taps = taps
        self.code = code
    }
}

/// A tapped network that is an autoencoder: an encoder to a code, and a decoder back.
///
/// The reconstruction loss and error, and the tap outputs, follow from ``encode(_:includingCode:)``
/// and ``decode(_:)``.
public protocol TappedAutoencoder: TappedNetwork, Layer {
    /// Runs the encoder; with `includingCode`, also what turns the last tap into the
    /// decoder's code (the one-class phase does not need it).
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
        guard let code = encoding.code ?? encoding.taps.last else {
            throw TensorError.invalidArgument(op: String(describing: Self.self), message: "the encoder produced no code")
        }
        return try decode(code)
    }

    /// The outputs of the named taps, in the order given.
    public func tapOutputs(_ x: Tensor, taps: [String]) throws -> [Tensor] {
        let encoding = try encode(x, includingCode: false)
        return try taps.map { name in
            guard let index = tapNames.firstIndex(of: name), index < encoding.taps.count else {
                throw TensorError.invalidArgument(op: "taps", message: "unknown tap '\(name)'; this network has \(tapNames.joined(separator: ", "))")
            }
            return encoding.taps[index]
        }
    }

    /// The batch mean of each sample's sum of squared reconstruction errors.
    public func reconstructionLoss(_ x: Tensor) throws -> Tensor { try Tensor.meanSquaredError(self(x), x) }

    /// Each sample's sum of squared reconstruction errors `[N]`.
    public func reconstructionError(_ x: Tensor) throws -> Tensor {
        try (self(x) - x).squared().sum(alongAxes: Array(1..<x.rank))
    }
}
