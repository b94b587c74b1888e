import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

/// The MLP autoencoder (`mlp`: 7 → 6 → 5 → code 3 and back, batch 5) against PyTorch:
/// `mlp_ae` and `mlp_ae_bn` (with the non-affine BatchNorm1d), computed in float64 by
/// `scripts/make-golden.py` (group `mlp`) from a twin whose `state_dict` keys are this
/// module's weight-file keys.
///
/// One train-mode forward (the taps `hidden1`, `hidden2`, `code`, the reconstruction, its
/// loss) and one backward of `loss + Σ_i Σ tap_i ⊙ det_fill(tap_i.shape, 2000 + i)` to the
/// input and every parameter; the running statistics it leaves; then the same forward and
/// backward in eval mode, which uses them (keys `eval.*`).
///
/// The fixture is well-conditioned: `x` is a plain `det_fill` whose seed (of 1000) keeps every
/// LeakyReLU input of both passes farthest from the kink, 7.3e-3 (plain) and 1.5e-3
/// (BatchNorm over 5 rows) in float64 (`margin.kink`, checked ≥ 1e-3 below), far above float32
/// rounding, so no branch flips and everything is held to near-float32 tolerances, those of
/// the CIFAR-10 golden test: values `1e-4` relative + `1e-5` absolute per element (the loss
/// `1e-5` relative), gradients relative L2 ≤ `1e-4` and every element within
/// `1e-4·|g| + 1e-4·max|g|`. PyTorch's own float32 run is within 1.9e-7 (plain) and 1.8e-6
/// (BatchNorm) of the reference, max-abs relative, on every key (`torch_f32_deviation.*`).
/// Measured on x86-64 (OpenBLAS, oneDNN 2.6): every key within 0.016× its tolerance (the
/// reconstruction at worst), gradients' relative L2 errors ≤ 1.1e-6.
@Suite("MLP autoencoder matches PyTorch")
struct MLPGoldenTests {
    static let batch = 5
    static let features = 7

    static func configuration(batchNorm: Bool) -> MLPAutoencoderConfiguration {
        var configuration = MLPAutoencoderConfiguration()
        configuration.inputFeatures = features
        configuration.hiddenSizes = [6, 5]
        configuration.codeLength = 3
        configuration.batchNorm = batchNorm
        return configuration
    }

    /// The network with the fixture's parameters: parameter `i` of the sorted keys gets seed
    /// `1100 + i`, biases `det_fill(·, 0.1)`, weights `det_fill(·, 1/√fan_in)`.
    static func makeModel(_ fixture: SafeTensors.Contents, batchNorm: Bool) throws -> MLPAutoencoder {
        var generator = RandomGenerator(seed: 0)
        let model = MLPAutoencoder(configuration(batchNorm: batchNorm), generator: &generator)
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters())
        let keys = parameters.keys.sorted()
        let recorded = try #require(fixture.metadata["parameters"]).split(separator: ",").map(String.init)
        #expect(keys == recorded, "the parameter keys differ from the PyTorch twin's")
        var state: [String: Tensor] = [:]
        for (i, key) in keys.enumerated() {
            let shape = try #require(parameters[key]).shape
            state[key] = key.hasSuffix("bias")
                ? deterministicFill(shape, seed: 1100 + i, scale: 0.1)
                : deterministicFill(shape, seed: 1100 + i, scale: 1 / Double(shape[1]).squareRoot())
        }
        try model.load(state, strict: false)
        for (key, tensor) in state { #expect(try #require(parameters[key]).scalars == tensor.scalars, "\(key) was not loaded") }
        return model
    }

    /// The fixture's `x`, checked to be `det_fill([5, 7], x.seed, 1)` off the kinks.
    static func input(_ fixture: SafeTensors.Contents) throws -> Tensor {
        let x = try fixture.tensor("x")
        let seed = try #require(fixture.metadata["x.seed"].flatMap(Int.init), "x.seed")
        #expect(x.scalars == deterministicFill([batch, features], seed: seed).scalars, "x is not det_fill(seed \(seed))")
        let margin = try #require(fixture.metadata["margin.kink"].flatMap(Double.init), "margin.kink")
        #expect(margin >= 1e-3, "margin.kink \(margin): the fixture is not conditioned")
        return x
    }

    func expectValues(_ actual: Tensor, _ fixture: SafeTensors.Contents, _ key: String, rtol: Float = 1e-4, atol: Float = 1e-5,
                      sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = try fixture.tensor(key)
        #expect(actual.shape == expected.shape, "\(key): shape \(actual.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
        let score = closeness(actual, expected, rtol: rtol, atol: atol)
        #expect(score <= 1, "\(key): \(score)× the tolerance", sourceLocation: sourceLocation)
    }

    func expectGradient(_ actual: Tensor?, _ fixture: SafeTensors.Contents, _ key: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let grad = try #require(actual, "\(key): no gradient", sourceLocation: sourceLocation)
        let expected = try fixture.tensor(key)
        #expect(grad.shape == expected.shape, "\(key): shape \(grad.shape) vs \(expected.shape)", sourceLocation: sourceLocation)
        let l2 = relativeL2Error(grad, expected)
        #expect(l2 <= 1e-4, "\(key): relative L2 error \(l2)", sourceLocation: sourceLocation)
        let scale = expected.scalars.map(abs).max() ?? 0
        let score = closeness(grad, expected, rtol: 1e-4, atol: 1e-4 * scale)
        #expect(score <= 1, "\(key): \(score)× the per-element tolerance", sourceLocation: sourceLocation)
        #expect(grad.scalars.contains { $0 != 0 }, "\(key): the gradient is all zero", sourceLocation: sourceLocation)
    }

    /// One forward and backward in the model's current mode, checked against the keys with `prefix`.
    func forwardBackward(_ model: MLPAutoencoder, _ fixture: SafeTensors.Contents, prefix: String) throws {
        for parameter in model.parameters() { parameter.grad = nil }
        let x = leaf(try Self.input(fixture))
        let encoding = try model.encode(x, includingCode: true)
        let recon = try model.decode(try #require(encoding.code))
        let loss = try Tensor.meanSquaredError(recon, x)
        var total = loss
        for (i, tap) in encoding.taps.enumerated() { total = try total + project(tap, deterministicFill(tap.shape, seed: 2000 + i)) }

        #expect(model.tapNames == ["hidden1", "hidden2", "code"])
        for (name, tap) in zip(model.tapNames, encoding.taps) { try expectValues(tap, fixture, "\(prefix)tap.\(name)") }
        try expectValues(recon, fixture, "\(prefix)recon")
        try expectValues(loss.reshaped(to: [1]), fixture, "\(prefix)loss", rtol: 1e-5, atol: 0)

        try total.backward()
        try expectGradient(x.grad, fixture, "\(prefix)grad.x")
        for (key, parameter) in model.namedParameters() { try expectGradient(parameter.grad, fixture, "\(prefix)grad.\(key)") }
    }

    func check(_ file: String, batchNorm: Bool) throws {
        let fixture = try Fixtures.load(file)
        let model = try Self.makeModel(fixture, batchNorm: batchNorm)
        model.train()
        try forwardBackward(model, fixture, prefix: "")
        let statistics = model.stateDictionary().filter { !$0.value.requiresGrad }
        #expect(statistics.count == (batchNorm ? 8 : 0), "buffers \(statistics.keys.sorted())")
        for (key, tensor) in statistics { try expectValues(tensor, fixture, key) }
        model.eval()
        try forwardBackward(model, fixture, prefix: "eval.")
    }

    @Test func plain() throws { try check("mlp_ae", batchNorm: false) }

    @Test func withBatchNorm() throws { try check("mlp_ae_bn", batchNorm: true) }
}

/// The MLP autoencoder's loss, `(1/N) Σ_i ‖x̂_i − x_i‖²`, against central finite differences,
/// in training mode, with respect to the input and three parameters (every element of each).
///
/// The inputs are the golden fixtures', whose LeakyReLU inputs are all at least 7.3e-3 (plain)
/// and 1.5e-3 (BatchNorm) from the kink. The step is `ε = 1e-3`: at 3e-3 a perturbation of
/// the BatchNorm variant's code weights crosses a kink (the difference quotient is then off by
/// 14%), and below 1e-3 rounding dominates the small first-layer gradient of the plain
/// variant (max |g| 3.5e-3). The loss is summed in double precision from the float32
/// reconstruction (the float32 loss alone would carry ~1e-7·|L| of rounding).
///
/// Tolerance: `|numeric − analytic| ≤ 1e-4 + 2e-3·max|g| + 1e-2·|analytic|`, with `max|g|` over
/// the tensor checked. Measured (x86-64): the largest deviation is 2.3e-5 on the plain
/// first-layer weights (0.2× the tolerance) and 9.9e-4 on the BatchNorm code weights, whose
/// gradients reach 5.8 (0.02×); a wrong backward (a factor, a transposed weight, a dropped term)
/// is off by the order of the gradient itself.
@Suite("MLP autoencoder gradients match finite differences")
struct MLPFiniteDifferenceTests {
    static let epsilon: Float = 1e-3

    func check(_ file: String, batchNorm: Bool, parameterKeys: [String]) throws {
        let fixture = try Fixtures.load(file)
        let model = try MLPGoldenTests.makeModel(fixture, batchNorm: batchNorm)
        model.train()
        let x = leaf(try MLPGoldenTests.input(fixture))
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters())
        try model.reconstructionLoss(x).backward()

        // In double precision from the float32 reconstruction: the float32 loss would carry
        // a rounding of ~1e-7·|L|, which dominates the difference quotient.
        func loss() throws -> Double {
            let recon = try withoutGradients { try model(x) }.scalars
            return zip(recon, x.scalars).reduce(0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) } / Double(MLPGoldenTests.batch)
        }
        var targets: [(String, Tensor)] = [("x", x)]
        for key in parameterKeys { targets.append((key, try #require(parameters[key], "\(key) is not a parameter"))) }
        for (name, tensor) in targets {
            let analytic = try #require(tensor.grad, "\(name): no gradient").scalars
            let scale = analytic.map(abs).max() ?? 0
            #expect(scale > 0, "\(name): the gradient is all zero")
            var worst: (ratio: Float, element: Int, numeric: Double) = (0, -1, 0)
            for j in 0..<tensor.count {
                let original = tensor.withUnsafeBufferPointer { $0[j] }
                let plus = original + Self.epsilon, minus = original - Self.epsilon
                tensor.withUnsafeMutableBufferPointer { $0[j] = plus }
                let lPlus = try loss()
                tensor.withUnsafeMutableBufferPointer { $0[j] = minus }
                let lMinus = try loss()
                tensor.withUnsafeMutableBufferPointer { $0[j] = original }
                let numeric = (lPlus - lMinus) / (Double(plus) - Double(minus))
                let ratio = Float(abs(numeric - Double(analytic[j]))) / (1e-4 + 2e-3 * scale + 1e-2 * abs(analytic[j]))
                if ratio > worst.ratio { worst = (ratio, j, numeric) }
            }
            #expect(worst.ratio <= 1, """
                \(file) \(name): element \(worst.element) numeric \(worst.numeric) vs analytic \
                \(worst.element >= 0 ? analytic[worst.element] : 0) (\(worst.ratio)× the tolerance)
                """)
        }
    }

    @Test func plain() throws {
        try check("mlp_ae", batchNorm: false, parameterKeys: [
            "encoderLayers.blocks.0.linear.weight", "encoderLayers.code.weight", "decoderLayers.output.bias",
        ])
    }

    @Test func withBatchNorm() throws {
        try check("mlp_ae_bn", batchNorm: true, parameterKeys: [
            "encoderLayers.blocks.0.linear.weight", "encoderLayers.code.weight", "decoderLayers.blocks.1.linear.weight",
        ])
    }
}
