import MOCCACore

/// A one-layer LSTM over the time axis, batch first: `[N, T, F]` to `[N, T, H]`.
///
/// The video model's tap heads run one over each tap's per-time-step vectors and keep the
/// last output. Built from differentiable ops (linear maps, slices, sigmoid, tanh,
/// products), so its backward pass through time is the autograd's own, checked like
/// every op: at `T = 16` steps and `H = 100` units the per-step products are small, and
/// the input projections of all steps run as one matrix product.
///
/// Weights are PyTorch's (`weight_ih_l0` `[4H, F]`, `weight_hh_l0` `[4H, H]`, biases
/// `[4H]`), gates in its order: input, forget, cell, output; the state starts at zero.
public final class LSTM: Module, Layer {
    /// `[4H, F]`: the input's contribution to the gates.
    public let inputWeight: Tensor
    /// `[4H, H]`: the previous output's contribution to the gates.
    public let hiddenWeight: Tensor
    /// `[4H]`.
    public let inputBias: Tensor
    /// `[4H]`.
    public let hiddenBias: Tensor

    /// PyTorch's key names.
    override public class var tensorKeys: [String: String] {
        ["inputWeight": "weight_ih_l0", "hiddenWeight": "weight_hh_l0", "inputBias": "bias_ih_l0", "hiddenBias": "bias_hh_l0"]
    }

    /// The number of hidden units, H.
    public var hiddenSize: Int { hiddenWeight.shape[1] }
    /// The input width, F.
    public var inputSize: Int { inputWeight.shape[1] }

    /// Every weight and bias from `U(±1/√H)`, as PyTorch initialises an LSTM.
    public init(inputSize: Int, hiddenSize: Int, generator: inout RandomGenerator) {
        let bound = 1 / Float(max(hiddenSize, 1)).squareRoot()
        func draw(_ shape: [Int]) -> Tensor {
            let t = Tensor.uniform(shape: shape, in: -bound...bound, using: &generator)
            t.requiresGrad = true
            return t
        }
        inputWeight = draw([4 * hiddenSize, inputSize])
        hiddenWeight = draw([4 * hiddenSize, hiddenSize])
        inputBias = draw([4 * hiddenSize])
        hiddenBias = draw([4 * hiddenSize])
    }

    /// Every time step's output, `[N, T, H]`.
    /// - Throws: ``MOCCACore/TensorError`` when the input is not `[N, T, F]` with F the input width.
    public func callAsFunction(_ input: Tensor) throws -> Tensor {
        let outputs = try run(input)
        return try Tensor.concatenate(outputs.map { try $0.reshaped(to: [$0.shape[0], 1, hiddenSize]) }, alongAxis: 1)
    }

    /// The last time step's output, `[N, H]`: a sequence's summary.
    public func lastOutput(_ input: Tensor) throws -> Tensor {
        guard let last = try run(input).last else {
            throw TensorError.empty(op: "lstm", message: "the input has no time steps")
        }
        return last
    }

    /// The outputs `[N, H]` of each step.
    private func run(_ input: Tensor) throws -> [Tensor] {
        guard input.rank == 3, input.shape[2] == inputSize else {
            throw TensorError.shapeMismatch(op: "lstm", message: "input \(input.shape), expected [N, T, \(inputSize)]")
        }
        let (n, steps, h) = (input.shape[0], input.shape[1], hiddenSize)
        // All steps' input projections in one product: [N·T, F] → [N, T, 4H].
        let projected = try Tensor.linear(input.reshaped(to: [n * steps, inputSize]), weight: inputWeight, bias: inputBias)
            .reshaped(to: [n, steps, 4 * h])
        var output = Tensor(zeros: [n, h]), cell = Tensor(zeros: [n, h])
        var outputs: [Tensor] = []
        for t in 0..<steps {
            let gates = try projected.slice(alongAxis: 1, t..<(t + 1)).reshaped(to: [n, 4 * h])
                + Tensor.linear(output, weight: hiddenWeight, bias: hiddenBias)
            let inputGate = try gates.slice(alongAxis: 1, 0..<h).sigmoid()
            let forgetGate = try gates.slice(alongAxis: 1, h..<(2 * h)).sigmoid()
            let candidate = try gates.slice(alongAxis: 1, (2 * h)..<(3 * h)).tanh()
            let outputGate = try gates.slice(alongAxis: 1, (3 * h)..<(4 * h)).sigmoid()
            cell = try forgetGate * cell + inputGate * candidate
            output = try outputGate * cell.tanh()
            outputs.append(output)
        }
        return outputs
    }
}
