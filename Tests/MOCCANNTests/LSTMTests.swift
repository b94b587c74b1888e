import Foundation
import MOCCACore
import MOCCANN
import MOCCATestSupport
import Testing

/// The LSTM layer against PyTorch's `nn.LSTM` (`lstm.safetensors`, float64 reference) and
/// against finite differences.
@Suite("LSTM")
struct LSTMTests {
    @Test func outputsAndGradientsMatchPyTorch() throws {
        let fixture = try Fixtures.load("lstm")
        var generator = RandomGenerator(seed: 0)
        let lstm = LSTM(inputSize: 4, hiddenSize: 6, generator: &generator)
        let names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
        #expect(Set(lstm.stateDictionary().keys) == Set(names))
        try lstm.load(Dictionary(uniqueKeysWithValues: try names.map { ($0, try fixture.tensor($0)) }))
        let x = leaf(try fixture.tensor("x"))
        let y = try lstm(x)
        #expect(y.shape == [3, 5, 6])
        #expect(isClose(y, try fixture.tensor("y")), "outputs")
        try project(y, fixture.tensor("gy")).backward()
        #expect(isClose(try #require(x.grad), try fixture.tensor("gx")), "input gradient")
        for (name, tensor) in lstm.namedParameters() {
            let expected = try fixture.tensor("g" + name)
            let grad = try #require(tensor.grad, "no gradient for \(name)")
            #expect(isClose(grad, expected), "gradient of \(name): \(closeness(grad, expected, rtol: 1e-4, atol: 1e-5))")
        }
        // The last output is the last time step of the sequence of outputs.
        let last = try withoutGradients { try lstm.lastOutput(fixture.tensor("x")) }
        let expectedLast = try fixture.tensor("y").slice(alongAxis: 1, 4..<5).reshaped(to: [3, 6])
        #expect(isClose(last, expectedLast))
    }

    /// Central differences of `Σ last output · w` against the autograd, for the input and
    /// both weight matrices.
    @Test func gradientsMatchFiniteDifferences() throws {
        var generator = RandomGenerator(seed: 5)
        let lstm = LSTM(inputSize: 3, hiddenSize: 4, generator: &generator)
        let x = Tensor.normal(shape: [2, 4, 3], using: &generator)
        x.requiresGrad = true
        let w = Tensor.normal(shape: [2, 4], using: &generator)
        func loss() throws -> Double {
            try withoutGradients { try (lstm.lastOutput(x) * w).scalars.reduce(0.0) { $0 + Double($1) } }
        }
        try project(lstm.lastOutput(x), w).backward()
        let step: Float = 1e-2
        for tensor in [x, lstm.inputWeight, lstm.hiddenWeight, lstm.hiddenBias] {
            let analytic = try #require(tensor.grad).scalars
            let pointer = tensor.unsafeScalarPointer
            for i in stride(from: 0, to: tensor.count, by: 3) {
                let original = pointer[i]
                pointer[i] = original + step
                let plus = try loss()
                pointer[i] = original - step
                let minus = try loss()
                pointer[i] = original
                let numeric = (plus - minus) / Double(2 * step)
                #expect(abs(numeric - Double(analytic[i])) < 2e-3 * max(1, abs(numeric)), "element \(i): \(numeric) vs \(analytic[i])")
            }
        }
    }

    @Test func refusesInputOfTheWrongShape() throws {
        var generator = RandomGenerator(seed: 1)
        let lstm = LSTM(inputSize: 3, hiddenSize: 2, generator: &generator)
        #expect(throws: TensorError.self) { try lstm(Tensor(zeros: [2, 5, 4])) }
        #expect(throws: TensorError.self) { try lstm(Tensor(zeros: [2, 3])) }
    }
}
