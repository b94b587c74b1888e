import MOCCACore
import MOCCANN

/// The video model's tap head: an LSTM over a tap's time steps, whose last output is the
/// tap's representation (the paper's "one LSTM per tap", hidden size 100, one layer).
///
/// A convolutional tap `[N, C, T, H, W]` is first averaged over H×W at each time step,
/// giving a sequence of T vectors of C features; a per-step vector tap `[N, T, D]` is
/// already such a sequence. The head is a module, so the one-class phase trains it with
/// the encoder.
public final class TemporalLSTMHead: TapHead {
    /// The LSTM over the time steps.
    public let lstm: LSTM

    /// A head for taps of `features` channels (or features) per time step.
    public init(features: Int, hiddenSize: Int = 100, generator: inout RandomGenerator) {
        lstm = LSTM(inputSize: features, hiddenSize: hiddenSize, generator: &generator)
    }

    /// `[N, C, T, H, W]` or `[N, T, D]` to `[N, hidden]`.
    /// - Throws: ``MOCCACore/TensorError`` for any other rank, or a width the LSTM does not take.
    public override func callAsFunction(_ input: Tensor) throws -> Tensor {
        try lstm.lastOutput(Self.sequence(input))
    }

    /// The tap's output as a batch-first sequence `[N, T, F]`.
    static func sequence(_ input: Tensor) throws -> Tensor {
        switch input.rank {
        case 3:
            return input
        case 5:
            let (n, c, length) = (input.shape[0], input.shape[1], input.shape[2])
            let pooled = try input.mean(alongAxes: [3, 4])   // [N, C, T]
            // [N, C, T] to [N, T, C], one time step at a time (T is small: 16 frames or fewer).
            let steps = try (0..<length).map { t in try pooled.slice(alongAxis: 2, t..<(t + 1)).reshaped(to: [n, 1, c]) }
            return try Tensor.concatenate(steps, alongAxis: 1)
        default:
            throw TensorError.rankMismatch(op: "temporal LSTM head", expected: "[N, C, T, H, W] or [N, T, D]", got: input.shape)
        }
    }
}
