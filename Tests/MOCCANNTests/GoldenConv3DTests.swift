import Foundation
import MOCCACore
import MOCCANN
import MOCCATestSupport
import Testing

/// The video model's 3-D ops against PyTorch (`conv3d` in `Tests/Fixtures/golden`, see
/// `scripts/make-golden.py`), with ``GoldenLayerTests``' helper and tolerance
/// (`|Δ| ≤ 1e-5 + 1e-4·|expected|` against a float64 reference).
extension GoldenLayerTests {
    /// The convolution groups of `conv3d`: key prefix, whether it has a bias, the op.
    static let conv3dCases: [(String, Bool, @Sendable ([Tensor]) throws -> Tensor)] = [
        ("conv_s122", true, { try Tensor.convolution3d($0[0], weight: $0[1], bias: $0[2], stride: [1, 2, 2], padding: 1) }),
        ("conv_s222", false, { try Tensor.convolution3d($0[0], weight: $0[1], stride: 2, padding: 1) }),
        ("causal", true, { try Tensor.convolution3d($0[0], weight: $0[1], bias: $0[2], padding: [0, 1, 1], causal: true) }),
        ("tconv_s222", true, { try Tensor.convolutionTranspose3d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 2, outputPadding: 1) }),
        ("tconv_s122", false, { try Tensor.convolutionTranspose3d($0[0], weight: $0[1], stride: [1, 2, 2], padding: 2, outputPadding: [0, 1, 1]) }),
        ("tconv1x1", true, { try Tensor.convolutionTranspose3d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 0, outputPadding: 1) }),
    ]

    @Test(arguments: 0..<6)
    func convolution3dMatchesPyTorch(_ index: Int) throws {
        let (key, hasBias, op) = Self.conv3dCases[index]
        let inputs = ["x", "weight"] + (hasBias ? ["bias"] : [])
        try check("conv3d", inputs: inputs.map { "\(key).\($0)" }, output: "\(key).y", gy: "\(key).gy",
                  gradients: Dictionary(uniqueKeysWithValues: inputs.map { ("\(key).\($0)", "\(key).g\($0)") }), forward: op)
    }

    /// The layers load PyTorch's `weight`/`bias` keys and run the same ops.
    @Test func conv3dLayersLoadPyTorchWeights() throws {
        let fixture = try Fixtures.load("conv3d")
        var generator = RandomGenerator(seed: 1)
        let causal = Conv3d(inChannels: 3, outChannels: 4, kernelSize: 3, padding: [0, 1, 1], causal: true, generator: &generator)
        #expect(causal.namedParameters().map(\.0) == ["weight", "bias"])
        try causal.load(["weight": fixture.tensor("causal.weight"), "bias": fixture.tensor("causal.bias")])
        #expect(isClose(try causal(fixture.tensor("causal.x")), try fixture.tensor("causal.y")))

        let up = ConvTranspose3d(inChannels: 4, outChannels: 3, kernelSize: 5, stride: [1, 2, 2], padding: 2,
                                 outputPadding: [0, 1, 1], bias: false, generator: &generator)
        #expect(up.namedParameters().map(\.0) == ["weight"])
        try up.load(["weight": fixture.tensor("tconv_s122.weight")])
        #expect(isClose(try up(fixture.tensor("tconv_s122.x")), try fixture.tensor("tconv_s122.y")))
    }

    @Test func tanh3dMatchesPyTorch() throws {
        try check("conv3d", inputs: ["tanh.x"], output: "tanh.y", gy: "tanh.gy", gradients: ["tanh.x": "tanh.gx"]) {
            try Tanh()($0[0])
        }
    }

    /// BatchNorm3d: train-mode output and gradients, the running statistics after one step,
    /// and the eval-mode output that uses them.
    @Test(arguments: [("bn", true, Float(1e-5)), ("bn_noaffine", false, Float(1e-4))])
    func batchNorm3dMatchesPyTorch(key: String, affine: Bool, epsilon: Float) throws {
        let fixture = try Fixtures.load("conv3d")
        let layer = BatchNorm.threeD(channels: 3, epsilon: epsilon, affine: affine)
        if affine {
            try layer.load(["weight": fixture.tensor("\(key).weight"), "bias": fixture.tensor("\(key).bias"),
                            "running_mean": layer.runningMean, "running_var": layer.runningVariance])
        }
        let x = leaf(try fixture.tensor("\(key).x"))
        let y = try layer(x)
        #expect(isClose(y, try fixture.tensor("\(key).y")), "\(key): y")
        try project(y, fixture.tensor("\(key).gy")).backward()
        #expect(isClose(try #require(x.grad), try fixture.tensor("\(key).gx")), "\(key): gx")
        if affine {
            #expect(isClose(try #require(layer.weight?.grad), try fixture.tensor("\(key).gweight")), "\(key): gweight")
            #expect(isClose(try #require(layer.bias?.grad), try fixture.tensor("\(key).gbias")), "\(key): gbias")
        }
        #expect(isClose(layer.runningMean, try fixture.tensor("\(key).running_mean")), "\(key): running mean")
        #expect(isClose(layer.runningVariance, try fixture.tensor("\(key).running_var")), "\(key): running variance")
        layer.eval()
        let yEval = try withoutGradients { try layer(fixture.tensor("\(key).x")) }
        #expect(isClose(yEval, try fixture.tensor("\(key).y_eval")), "\(key): eval output")
    }

    /// PyTorch's default initialisation: weights and biases within ±1/√fan_in, where a
    /// transposed weight's fan-in comes from its dimension 1 (`out·kt·kh·kw`), as in PyTorch.
    @Test func threeDLayersStartFromPyTorchsDefaultInitialisation() throws {
        var generator = RandomGenerator(seed: 7)
        let conv = Conv3d(inChannels: 3, outChannels: 8, kernelSize: [3, 5, 5], generator: &generator)
        let up = ConvTranspose3d(inChannels: 8, outChannels: 4, kernelSize: 5, generator: &generator)
        #expect(conv.weight.shape == [8, 3, 3, 5, 5] && conv.bias?.shape == [8])
        #expect(up.weight.shape == [8, 4, 5, 5, 5] && up.bias?.shape == [4])
        for (tensor, fanIn) in [(conv.weight, 225), (try #require(conv.bias), 225), (up.weight, 500), (try #require(up.bias), 500)] {
            let bound = 1 / Float(fanIn).squareRoot()
            #expect(tensor.scalars.allSatisfy { abs($0) <= bound })
            // Hundreds of weights fill the range; a handful of biases need not.
            if tensor.count > 100 { #expect(tensor.scalars.contains { abs($0) > 0.9 * bound }, "the weights should fill the range") }
        }
        #expect(throws: TensorError.self) { _ = try BatchNorm.threeD(channels: 3)(Tensor(zeros: [2, 3, 4, 4])) }
    }
}
