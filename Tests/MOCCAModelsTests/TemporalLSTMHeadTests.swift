import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

@Suite("Temporal LSTM head")
struct TemporalLSTMHeadTests {
    /// A convolutional tap is averaged over H×W per time step, then run through the LSTM.
    @Test func poolsEachTimeStepThenKeepsTheLastOutput() throws {
        var generator = RandomGenerator(seed: 2)
        let head = TemporalLSTMHead(features: 3, hiddenSize: 5, generator: &generator)
        let x = Tensor.normal(shape: [2, 3, 4, 2, 3], using: &generator)   // [N, C, T, H, W]
        let v = x.scalars
        var sequence = [Float](repeating: 0, count: 2 * 4 * 3)           // [N, T, C], by hand
        for n in 0..<2 { for c in 0..<3 { for t in 0..<4 {
            var sum: Float = 0
            for s in 0..<6 { sum += v[(((n * 3 + c) * 4 + t) * 6) + s] }
            sequence[(n * 4 + t) * 3 + c] = sum / 6
        } } }
        let expected = try head.lstm.lastOutput(Tensor(shape: [2, 4, 3], scalars: sequence))
        let output = try head(x)
        #expect(output.shape == [2, 5])
        #expect(isClose(output, expected, rtol: 1e-5, atol: 1e-6))
        // A per-step vector tap goes to the LSTM as it is.
        #expect(isClose(try head(Tensor(shape: [2, 4, 3], scalars: sequence)), expected))
        #expect(throws: TensorError.self) { try head(Tensor(zeros: [2, 3])) }
    }

    /// The head trains: gradients reach the input and the LSTM's weights.
    @Test func gradientsReachTheInputAndTheWeights() throws {
        var generator = RandomGenerator(seed: 3)
        let head = TemporalLSTMHead(features: 2, hiddenSize: 3, generator: &generator)
        let x = Tensor.normal(shape: [2, 2, 3, 2, 2], using: &generator)
        x.requiresGrad = true
        try project(head(x), Tensor.normal(shape: [2, 3], using: &generator)).backward()
        #expect(x.grad.map { $0.scalars.contains { $0 != 0 } } == true)
        #expect(head.parameters().count == 4 && head.parameters().allSatisfy { $0.grad != nil })
    }

    /// With a selector, every time step goes through it (weights shared over time), and the
    /// LSTM reads the selector's 128 features per step.
    @Test func aSelectorRunsOnEveryTimeStepBeforeTheLSTM() throws {
        var generator = RandomGenerator(seed: 4)
        let head = TemporalLSTMHead(selectingFrom: 3, spatial: true, hiddenSize: 5, generator: &generator)
        head.eval()   // the selector's BatchNorm then treats steps independently of each other
        let x = Tensor.normal(shape: [2, 3, 4, 5, 6], using: &generator)   // [N, C, T, H, W]
        guard let selector = head.selector as? SpatialSelectorHead else { Issue.record("no spatial selector"); return }
        var steps: [[Float]] = [[], []]                                      // [N][T·128], by hand
        for t in 0..<4 {
            let frame = try x.slice(alongAxis: 2, t..<(t + 1)).reshaped(to: [2, 3, 5, 6])
            let selected = try selector(frame).scalars
            for n in 0..<2 { steps[n] += selected[(n * 128)..<((n + 1) * 128)] }
        }
        let expected = try head.lstm.lastOutput(Tensor(shape: [2, 4, 128], scalars: steps[0] + steps[1]))
        let output = try head(x)
        #expect(output.shape == [2, 5])
        #expect(isClose(output, expected, rtol: 1e-5, atol: 1e-6))

        // A vector tap's steps go through a vector selector; gradients reach the selector.
        head.train()
        let vectorHead = TemporalLSTMHead(selectingFrom: 7, spatial: false, hiddenSize: 5, generator: &generator)
        let v = Tensor.normal(shape: [3, 4, 7], using: &generator)
        v.requiresGrad = true
        try project(vectorHead(v), Tensor.normal(shape: [3, 5], using: &generator)).backward()
        #expect(v.grad.map { $0.scalars.contains { $0 != 0 } } == true)
        let names = vectorHead.namedParameters().map(\.0)
        #expect(names.contains("selector.fc1.weight") && names.contains("lstm.weight_ih_l0"), "\(names)")
        #expect(vectorHead.parameters().allSatisfy { $0.grad != nil })
    }
}
