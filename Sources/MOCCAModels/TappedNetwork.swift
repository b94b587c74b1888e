import MOCCACore
import MOCCANN

/// A network that MOCCA can train and score: an encoder whose intermediate outputs
/// ("taps") each become one vector per sample, and a way to measure how well a sample
/// is reconstructed.
///
/// The detector knows networks only through this protocol, so a new architecture (a
/// residual autoencoder, a video model, an MLP for tables) needs no change to it: the
/// network says what its taps are, how a tap's output becomes a vector (its
/// ``tapHeads``), and which of its parameters form the encoder.
public protocol TappedNetwork: Module {
    /// The shape of one sample, without the batch axis (`[C, H, W]` for images, `[D]` for vectors).
    var inputShape: [Int] { get }
    /// The available taps, shallow to deep.
    var tapNames: [String] { get }
    /// The part of the network kept after pre-training and trained in the one-class
    /// phase. Every parameter below it is trained; nothing is listed by hand.
    var encoder: Module { get }
    /// One head per tap, in ``tapNames`` order: how that tap's output becomes `[N, D]`.
    var tapHeads: [TapHead] { get }
    /// The outputs of the named taps, before their heads, in the order given.
    func tapOutputs(_ x: Tensor, taps: [String]) throws -> [Tensor]
    /// The pre-training loss of a batch: a differentiable scalar.
    func reconstructionLoss(_ x: Tensor) throws -> Tensor
    /// Each value's squared reconstruction error, shaped like `x`: what
    /// ``reconstructionError(_:)`` sums per sample, and what scores that look at where the
    /// error is read (the frame-local score of video clips).
    func squaredReconstructionErrors(_ x: Tensor) throws -> Tensor
}

extension TappedNetwork {
    /// Each sample's reconstruction error `[N]`: its sum of ``squaredReconstructionErrors(_:)``.
    public func reconstructionError(_ x: Tensor) throws -> Tensor {
        try squaredReconstructionErrors(x).sum(alongAxes: Array(1..<x.rank))
    }

    /// The vectors `[N, D_l]` of the named taps, in the order given: each tap's output
    /// through its head.
    public func tapVectors(_ x: Tensor, taps: [String]) throws -> [Tensor] {
        let heads = try taps.map { try head(of: $0) }
        return try zip(heads, tapOutputs(x, taps: taps)).map { head, output in try head(output) }
    }

    /// What the one-class phase trains: the encoder's parameters and its heads'.
    public var oneClassParameters: [Tensor] { encoder.parameters() + tapHeads.flatMap { $0.parameters() } }

    /// The head of one tap.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` for a tap the network does not have.
    public func head(of tap: String) throws -> TapHead {
        guard let index = tapNames.firstIndex(of: tap), index < tapHeads.count else {
            throw TensorError.invalidArgument(op: "taps", message: "unknown tap '\(tap)'; this network has \(tapNames.joined(separator: ", "))")
        }
        return tapHeads[index]
    }

    /// Throws unless `x` is a batch of samples of ``inputShape``.
    public func checkInput(_ x: Tensor) throws {
        guard x.rank == inputShape.count + 1, Array(x.shape.dropFirst()) == inputShape else {
            throw TensorError.shapeMismatch(op: String(describing: Self.self), message: "expected a batch [N, \(inputShape.map(String.init).joined(separator: ", "))], got \(x.shape)")
        }
    }
}

/// Turns one tap's output into one vector per sample. A head is a module: one with
/// parameters (an LSTM over time, say) is trained with the encoder in the one-class phase.
open class TapHead: Module, Layer {
    /// A head.
    public override init() {}
    /// The vectors `[N, D]` of a tap's output.
    open func callAsFunction(_ input: Tensor) throws -> Tensor { input }
}

/// The head of a feature-map tap: the mean over the spatial axes, `[N, C, H, W]` to `[N, C]`.
public final class GlobalAveragePoolHead: TapHead {
    /// Averages `[N, C, H, W]` to `[N, C]`.
    public override func callAsFunction(_ input: Tensor) throws -> Tensor { try Tensor.globalAveragePool2d(input) }
}

/// The head of a tap that is already a vector per sample: the identity.
public final class IdentityHead: TapHead {}
