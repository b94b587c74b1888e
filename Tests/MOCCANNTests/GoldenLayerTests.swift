import Foundation
import MOCCACore
import MOCCANN
import MOCCATestSupport
import Testing

/// Layer outputs and gradients against PyTorch, from `Tests/Fixtures/golden` (see
/// `scripts/make-golden.py`). The fixtures are computed in double precision, so float32
/// results agree to about 1e-5 relative; the tolerance is 1e-4.
@Suite("Layers match PyTorch")
struct GoldenLayerTests {
    /// Runs `forward` on leaves made from the fixture's tensors, back-propagates the
    /// fixture's `gy`, and compares the output and every named gradient.
    func check(_ file: String, inputs: [String], output: String = "y", gy: String = "gy",
               gradients: [String: String], forward: ([Tensor]) throws -> Tensor) throws {
        let fixture = try Fixtures.load(file)
        let leaves = try inputs.map { leaf(try fixture.tensor($0)) }
        let y = try forward(leaves)
        #expect(isClose(y, try fixture.tensor(output)), "\(file): output")
        try project(y, fixture.tensor(gy)).backward()
        for (index, name) in inputs.enumerated() {
            guard let key = gradients[name] else { continue }
            let grad = try #require(leaves[index].grad, "\(file): no gradient for \(name)")
            let expected = try fixture.tensor(key)
            #expect(isClose(grad, expected), "\(file): gradient of \(name), closeness \(closeness(grad, expected, rtol: 1e-4, atol: 1e-5))")
        }
    }

    @Test func conv2dWithStrideAndBias() throws {
        try check("conv2d", inputs: ["x", "weight", "bias"], gradients: ["x": "gx", "weight": "gweight", "bias": "gbias"]) {
            try Tensor.convolution2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1)
        }
    }

    @Test func conv2d5x5WithoutBias() throws {
        try check("conv2d_5x5", inputs: ["x", "weight"], gradients: ["x": "gx", "weight": "gweight"]) {
            try Tensor.convolution2d($0[0], weight: $0[1], padding: 2)
        }
    }

    @Test func convTranspose2dWithStrideOutputPaddingAndBias() throws {
        try check("conv_transpose2d", inputs: ["x", "weight", "bias"], gradients: ["x": "gx", "weight": "gweight", "bias": "gbias"]) {
            try Tensor.convolutionTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 2, outputPadding: 1)
        }
    }

    @Test func convTranspose2dStrideOne() throws {
        try check("conv_transpose2d_s1", inputs: ["x", "weight"], gradients: ["x": "gx", "weight": "gweight"]) {
            try Tensor.convolutionTranspose2d($0[0], weight: $0[1], padding: 2)
        }
    }

    /// The residual autoencoder's shortcut: output padding 1 above padding 0 (`residual_ops`).
    @Test func convTranspose2dOneByOneStrideTwoWithOutputPaddingAbovePadding() throws {
        try check("residual_ops", inputs: ["tconv1x1.x", "tconv1x1.weight", "tconv1x1.bias"], output: "tconv1x1.y", gy: "tconv1x1.gy",
                  gradients: ["tconv1x1.x": "tconv1x1.gx", "tconv1x1.weight": "tconv1x1.gweight", "tconv1x1.bias": "tconv1x1.gbias"]) {
            try Tensor.convolutionTranspose2d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 0, outputPadding: 1)
        }
    }

    @Test func conv2dUnpadded() throws {
        try check("residual_ops", inputs: ["conv_nopad.x", "conv_nopad.weight"], output: "conv_nopad.y", gy: "conv_nopad.gy",
                  gradients: ["conv_nopad.x": "conv_nopad.gx", "conv_nopad.weight": "conv_nopad.gweight"]) {
            try Tensor.convolution2d($0[0], weight: $0[1], padding: 0)
        }
    }

    /// A residual join: the convolution's output is in oneDNN's blocked layout, its input plain.
    @Test func residualSumOfABlockedAndAPlainTensor() throws {
        try check("residual_ops", inputs: ["residual.x", "residual.weight"], output: "residual.y", gy: "residual.gy",
                  gradients: ["residual.x": "residual.gx", "residual.weight": "residual.gweight"]) {
            try (Tensor.convolution2d($0[0], weight: $0[1], padding: 1) + $0[0]).leakyRelu()
        }
    }

    @Test func linear() throws {
        try check("linear", inputs: ["x", "weight", "bias"], gradients: ["x": "gx", "weight": "gweight", "bias": "gbias"]) {
            try Tensor.linear($0[0], weight: $0[1], bias: $0[2])
        }
    }

    /// Train-mode output and gradients, the running statistics after one step, and the
    /// eval-mode output that uses them.
    func checkBatchNorm(_ file: String, layer: BatchNorm, affine: Bool) throws {
        let fixture = try Fixtures.load(file)
        if affine, let weight = layer.weight, let bias = layer.bias {
            try layer.load(["weight": fixture.tensor("weight"), "bias": fixture.tensor("bias"),
                            "running_mean": layer.runningMean, "running_var": layer.runningVariance])
            _ = (weight, bias)
        }
        let x = leaf(try fixture.tensor("x"))
        let y = try layer(x)
        #expect(isClose(y, try fixture.tensor("y")), "\(file): y")
        try project(y, fixture.tensor("gy")).backward()
        #expect(isClose(try #require(x.grad), try fixture.tensor("gx")), "\(file): gx")
        if affine {
            #expect(isClose(try #require(layer.weight?.grad), try fixture.tensor("gweight")), "\(file): gweight")
            #expect(isClose(try #require(layer.bias?.grad), try fixture.tensor("gbias")), "\(file): gbias")
        }
        #expect(isClose(layer.runningMean, try fixture.tensor("running_mean")), "\(file): running mean")
        #expect(isClose(layer.runningVariance, try fixture.tensor("running_var")), "\(file): running variance")
        layer.eval()
        let yEval = try withoutGradients { try layer(fixture.tensor("x")) }
        #expect(isClose(yEval, try fixture.tensor("y_eval")), "\(file): eval output")
    }

    @Test func batchNorm2dAffine() throws {
        try checkBatchNorm("batchnorm2d", layer: .twoD(channels: 3, epsilon: 1e-5), affine: true)
    }

    @Test func batchNorm2dWithoutAffine() throws {
        try checkBatchNorm("batchnorm2d_noaffine", layer: .twoD(channels: 3, epsilon: 1e-4, affine: false), affine: false)
    }

    @Test func batchNorm1dWithoutAffine() throws {
        try checkBatchNorm("batchnorm1d", layer: .oneD(features: 5, epsilon: 1e-4, affine: false), affine: false)
    }

    @Test(arguments: ["leaky_relu", "leaky_relu_0.2", "relu", "sigmoid", "tanh"])
    func activation(_ name: String) throws {
        let act: (Tensor) throws -> Tensor = switch name {
        case "leaky_relu": { try $0.leakyRelu(slope: 0.01) }
        case "leaky_relu_0.2": { try $0.leakyRelu(slope: 0.2) }
        case "relu": { try $0.relu() }
        case "sigmoid": { try $0.sigmoid() }
        default: { try $0.tanh() }
        }
        try check("activations", inputs: ["x"], output: "\(name).y", gradients: ["x": "\(name).gx"]) { try act($0[0]) }
    }

    @Test func maxPool() throws {
        try check("pooling", inputs: ["x"], output: "maxpool.y", gy: "maxpool.gy", gradients: ["x": "maxpool.gx"]) {
            try Tensor.maxPool2d($0[0], kernelSize: 2)
        }
    }

    @Test func globalAveragePool() throws {
        try check("pooling", inputs: ["x"], output: "gap.y", gy: "gap.gy", gradients: ["x": "gap.gx"]) {
            try Tensor.globalAveragePool2d($0[0])
        }
    }

    @Test func adaptiveMaxPool() throws {
        try check("pooling", inputs: ["adaptive_max.x"], output: "adaptive_max.y", gy: "adaptive_max.gy",
                  gradients: ["adaptive_max.x": "adaptive_max.gx"]) {
            try Tensor.adaptiveMaxPool2d($0[0], outputSize: (2, 3))
        }
    }

    @Test func nearestUpsampling() throws {
        try check("pooling", inputs: ["x"], output: "upsample.y", gy: "upsample.gy", gradients: ["x": "upsample.gx"]) {
            try Tensor.upsampleNearest2d($0[0], factor: 2)
        }
    }

    @Test func meanSquaredError() throws {
        let fixture = try Fixtures.load("losses")
        let a = leaf(try fixture.tensor("a"))
        let loss = try Tensor.meanSquaredError(a, fixture.tensor("b"))
        #expect(isClose(try loss.reshaped(to: [1]), try fixture.tensor("mse")))
        try loss.backward()
        #expect(isClose(try #require(a.grad), try fixture.tensor("mse.ga")))
    }

    @Test func squaredDistanceToCentre() throws {
        try check("losses", inputs: ["z", "c"], output: "sqdist", gy: "sqdist.gy", gradients: ["z": "sqdist.gz", "c": "sqdist.gc"]) {
            try $0[0].squaredDistance(to: $0[1])
        }
    }
}
