import MOCCACore
import MOCCANN

/// What an encoder computes on the way to its code.
public struct Encoding {
    /// The outputs of the taps, in the network's ``TappedNetwork/tapNames`` order (only
    /// those asked for, from ``TappedAutoencoder/encode(_:includingCode:keepingTaps:)``).
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
/// The reconstruction loss and error, and the tap outputs, follow from
/// ``encode(_:includingCode:keepingTaps:)`` and ``decode(_:)``.
public protocol TappedAutoencoder: TappedNetwork, Layer {
    /// Runs the encoder; with `includingCode`, also what turns the last tap into the
    /// decoder's code (the one-class phase does not need it).
    func encode(_ x: Tensor, includingCode: Bool) throws -> Encoding
    /// Runs the encoder for the taps at `tapIndices` (positions in ``TappedNetwork/tapNames``)
    /// only: the encoding's taps are those, in increasing position. A network may skip work
    /// that only the other taps need: where nothing reads a convolution's raw output, an
    /// evaluation-mode pass can fold the BatchNorm after it into its weights
    /// (``InferenceFusion``). The default runs ``encode(_:includingCode:)`` and picks.
    func encode(_ x: Tensor, includingCode: Bool, keepingTaps tapIndices: Set<Int>) throws -> Encoding
    /// Maps a code to a reconstruction.
    func decode(_ code: Tensor) throws -> Tensor
}

extension TappedAutoencoder {
    /// Runs the whole encoder, code included.
    public func encode(_ x: Tensor) throws -> Encoding { try encode(x, includingCode: true) }

    /// Runs ``encode(_:includingCode:)`` and keeps the taps at `tapIndices`; the code falls
    /// back to the last tap for a network that gives none.
    public func encode(_ x: Tensor, includingCode: Bool, keepingTaps tapIndices: Set<Int>) throws -> Encoding {
        let full = try encode(x, includingCode: includingCode)
        let kept = tapIndices.sorted()
        guard kept.allSatisfy({ $0 >= 0 && $0 < full.taps.count }) else {
            throw TensorError.invalidArgument(op: "taps", message: "tap positions \(kept) outside the encoder's \(full.taps.count) taps")
        }
        return Encoding(taps: kept.map { full.taps[$0] }, code: includingCode ? full.code ?? full.taps.last : full.code)
    }

    /// The reconstruction of `x`. No tap is kept on the way.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard let code = try encode(x, includingCode: true, keepingTaps: []).code else {
            throw TensorError.invalidArgument(op: String(describing: Self.self), message: "the encoder produced no code")
        }
        return try decode(code)
    }

    /// The outputs of the named taps, in the order given. Only those taps are kept.
    public func tapOutputs(_ x: Tensor, taps: [String]) throws -> [Tensor] {
        let indices = try taps.map { name in
            guard let index = tapNames.firstIndex(of: name) else {
                throw TensorError.invalidArgument(op: "taps", message: "unknown tap '\(name)'; this network has \(tapNames.joined(separator: ", "))")
            }
            return index
        }
        let kept = Set(indices).sorted()
        let encoding = try encode(x, includingCode: false, keepingTaps: Set(kept))
        guard encoding.taps.count == kept.count else {
            throw TensorError.invalidArgument(op: "taps", message: "the encoder gave \(encoding.taps.count) taps for the \(kept.count) asked for")
        }
        return indices.compactMap { index in kept.firstIndex(of: index).map { encoding.taps[$0] } }
    }

    /// The batch mean of each sample's sum of squared reconstruction errors.
    public func reconstructionLoss(_ x: Tensor) throws -> Tensor { try Tensor.meanSquaredError(self(x), x) }

    /// Each value's squared reconstruction error `(x̂ − x)²`, shaped like `x`.
    public func squaredReconstructionErrors(_ x: Tensor) throws -> Tensor {
        try (self(x) - x).squared()
    }
}

extension FusedActivation {
    /// PyTorch's default LeakyReLU (slope 0.01), the one every network here uses, for
    /// convolutions that apply it as they write (``InferenceFusion``).
    static let leakyReLU = FusedActivation.leakyRelu(slope: 0.01)
}
