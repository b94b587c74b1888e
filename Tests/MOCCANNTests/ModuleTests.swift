import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

@Suite("Modules")
struct ModuleTests {
    static let weightKeys: Set<String> = [
        "conv1.weight", "conv2.weight", "conv3.weight", "fc1.weight",
        "deconv1.weight", "deconv2.weight", "deconv3.weight", "deconv4.weight",
    ]
    static let bufferKeys: Set<String> = Set(["bn2d1", "bn2d2", "bn2d3", "bn1d", "bn2d4", "bn2d5", "bn2d6"]
        .flatMap { ["\($0).running_mean", "\($0).running_var"] })

    static func model(seed: UInt64) throws -> CIFAR10LeNetAutoencoder {
        var generator = RandomGenerator(seed: seed)
        return try CIFAR10LeNetAutoencoder(codeLength: 128, generator: &generator)
    }

    static func images(seed: Int) throws -> Tensor {
        try deterministicFill([2, 3, 32, 32], seed: seed, scale: 0.5) + 0.5
    }

    @Test func autoencoderKeysMatchPyTorchsStateDict() throws {
        let model = try Self.model(seed: 1)
        let parameters = model.namedParameters().map(\.0)
        #expect(parameters.count == 8)
        #expect(Set(parameters) == Self.weightKeys)
        let buffers = model.namedTensors().filter { !$0.1.requiresGrad }.map(\.0)
        #expect(buffers.count == 14)
        #expect(Set(buffers) == Self.bufferKeys)
        #expect(Set(model.stateDictionary().keys) == Self.weightKeys.union(Self.bufferKeys))
        // The same keys as the PyTorch reference's state_dict in the golden fixture.
        let fixture = try Fixtures.load("cifar_ae")
        let fixtureBuffers = Set(fixture.tensors.keys.filter { $0.hasSuffix(".running_mean") || $0.hasSuffix(".running_var") })
        let fixtureWeights = Set(fixture.tensors.keys.filter { $0.hasPrefix("grad.") }.map { String($0.dropFirst(5)) })
        #expect(fixtureBuffers == Self.bufferKeys)
        #expect(fixtureWeights == Self.weightKeys)
    }

    @Test func autoencoderParameterCount() throws {
        let model = try Self.model(seed: 1)
        let count = model.parameters().map(\.count).reduce(0, +)
        let expected = 3 * 32 * 25 + 32 * 64 * 25 + 64 * 128 * 25 + 2048 * 128
            + 8 * 128 * 25 + 128 * 64 * 25 + 64 * 32 * 25 + 32 * 3 * 25
        #expect(expected == 804_544)
        #expect(count == expected)
        #expect(model.encoderLayers.conv1.weight.shape == [32, 3, 5, 5])
        #expect(model.decoderLayers.deconv1.weight.shape == [8, 128, 5, 5], "transposed weights are [in, out, kh, kw]")
        #expect(model.encoderLayers.fc1.weight.shape == [128, 2048])
    }

    @Test(arguments: [0, 8, 100, -16])
    func codeLengthThatIsNotAPositiveMultipleOf16Throws(codeLength: Int) {
        var generator = RandomGenerator(seed: 1)
        let error = #expect(throws: TensorError.self) { try CIFAR10LeNetAutoencoder(codeLength: codeLength, generator: &generator) }
        guard case .invalidArgument? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func otherCodeLengthsBuildMatchingShapes() throws {
        var generator = RandomGenerator(seed: 1)
        let model = try CIFAR10LeNetAutoencoder(codeLength: 32, generator: &generator)
        #expect(model.encoderLayers.fc1.weight.shape == [32, 2048])
        #expect(model.decoderLayers.deconv1.weight.shape == [2, 128, 5, 5])
    }

    @Test func saveThenLoadIntoADifferentlySeededModelGivesIdenticalOutputs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-module-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("ae.safetensors")

        let source = try Self.model(seed: 1)
        // One train-mode forward moves the running statistics away from 0 and 1, so that
        // the buffers matter too.
        _ = try withoutGradients { try source(Self.images(seed: 3)) }
        try source.save(to: url, metadata: ["model": "cifar"])
        #expect(try SafeTensors.read(from: url).metadata == ["model": "cifar"])

        let target = try Self.model(seed: 2)
        let x = try Self.images(seed: 4)
        source.eval()
        target.eval()
        let before = try withoutGradients { try target(x) }
        let expected = try withoutGradients { try source(x) }
        #expect(before.scalars != expected.scalars, "differently seeded models should differ before loading")

        try target.load(from: url)
        let after = try withoutGradients { try target(x) }
        #expect(after.scalars == expected.scalars)
        for (key, tensor) in source.stateDictionary() {
            #expect(try #require(target.stateDictionary()[key]).scalars == tensor.scalars, "\(key)")
        }
    }

    @Test func loadWithAMissingKeyThrows() throws {
        let model = try Self.model(seed: 1)
        var state = try Self.model(seed: 2).stateDictionary()
        state["fc1.weight"] = nil
        #expect(throws: ModuleError.missingKey("fc1.weight")) { try model.load(state) }
        // Non-strict loading skips it.
        #expect(throws: Never.self) { try model.load(state, strict: false) }
    }

    @Test func loadWithAWrongShapeThrows() throws {
        let model = try Self.model(seed: 1)
        var state = model.stateDictionary()
        state["conv1.weight"] = Tensor(zeros: [32, 3, 3, 3])
        let error = #expect(throws: ModuleError.self) { try model.load(state) }
        #expect(error == .shapeMismatch(key: "conv1.weight", expected: [32, 3, 5, 5], got: [32, 3, 3, 3]))
        #expect(error?.description.contains("conv1.weight") == true)
        #expect(throws: ModuleError.self) { try model.load(state, strict: false) }
    }

    @Test func strictLoadWithAnExtraKeyThrows() throws {
        let model = try Self.model(seed: 1)
        var state = model.stateDictionary()
        state["extra.weight"] = Tensor(1)
        #expect(throws: ModuleError.unexpectedKey("extra.weight")) { try model.load(state) }
        #expect(throws: Never.self) { try model.load(state, strict: false) }
    }

    @Test func trainAndEvalPropagateToEveryChild() throws {
        let model = try Self.model(seed: 1)
        func descendants(_ module: Module) -> [Module] { module.children().flatMap { [$0.1] + descendants($0.1) } }
        let children = descendants(model)
        // The encoder and decoder groups, their 8 + 7 layers, and 4 tap heads.
        #expect(children.count == 2 + 15 + 4)
        #expect(model.isTraining && children.allSatisfy(\.isTraining))
        model.eval()
        #expect(!model.isTraining && children.allSatisfy { !$0.isTraining })
        model.train()
        #expect(model.isTraining && children.allSatisfy(\.isTraining))
        model.train(false)
        #expect(children.allSatisfy { !$0.isTraining })
    }

    @Test func evalModeLeavesRunningStatisticsAlone() throws {
        let model = try Self.model(seed: 1)
        model.eval()
        _ = try withoutGradients { try model(Self.images(seed: 3)) }
        #expect(model.encoderLayers.bn2d1.runningMean.scalars.allSatisfy { $0 == 0 })
        #expect(model.encoderLayers.bn1d.runningVariance.scalars.allSatisfy { $0 == 1 })
        model.train()
        _ = try withoutGradients { try model(Self.images(seed: 3)) }
        #expect(model.encoderLayers.bn2d1.runningMean.scalars.contains { $0 != 0 })
    }

    @Test func sequentialKeysFollowLayerIndices() {
        var generator = RandomGenerator(seed: 1)
        let model = Sequential([Linear(inFeatures: 3, outFeatures: 4, generator: &generator), ReLU(),
                                Linear(inFeatures: 4, outFeatures: 2, bias: false, generator: &generator)])
        #expect(model.namedParameters().map(\.0) == ["layers.0.weight", "layers.0.bias", "layers.2.weight"])
    }

    @Test func zeroGradientsClearsEveryParameter() throws {
        var generator = RandomGenerator(seed: 1)
        let layer = Linear(inFeatures: 3, outFeatures: 2, generator: &generator)
        try Tensor.linear(deterministicFill([4, 3], seed: 1), weight: layer.weight, bias: layer.bias).sum().backward()
        #expect(layer.weight.grad != nil && layer.bias?.grad != nil)
        layer.zeroGradients()
        #expect(layer.weight.grad == nil && layer.bias?.grad == nil)
    }
}

@Suite("Initialisers")
struct InitializerTests {
    @Test func fansOfConvolutionLinearAndTransposedWeights() {
        // Conv2d [out, in, kh, kw]: fan_in = in·kh·kw, fan_out = out·kh·kw.
        #expect(Initializer.fans(of: [16, 8, 3, 3]) == (72, 144))
        // ConvTranspose2d [in, out, kh, kw]: PyTorch still uses dimension 1 for fan_in.
        #expect(Initializer.fans(of: [8, 16, 5, 5]) == (400, 200))
        // Linear [out, in].
        #expect(Initializer.fans(of: [4, 5]) == (5, 4))
    }

    /// The largest |w| of many uniform draws lies just below the bound.
    func expectBound(_ values: [Float], _ bound: Float, sourceLocation: SourceLocation = #_sourceLocation) {
        let largest = values.map(abs).max() ?? 0
        #expect(largest <= bound * (1 + 1e-6), "max |w| \(largest) > bound \(bound)", sourceLocation: sourceLocation)
        #expect(largest > 0.9 * bound, "max |w| \(largest) well below bound \(bound)", sourceLocation: sourceLocation)
        #expect(values.contains { $0 < 0 } && values.contains { $0 > 0 }, sourceLocation: sourceLocation)
    }

    @Test func kaimingUniformDefaultBoundIsOneOverSquareRootOfFanIn() {
        var generator = RandomGenerator(seed: 1)
        let weight = Initializer.kaimingUniform(shape: [64, 32, 3, 3], using: &generator)
        expectBound(weight.scalars, 1 / Float(288).squareRoot())
        // With a = 0 (plain ReLU), the bound is √(6 / fan_in).
        let relu = Initializer.kaimingUniform(shape: [64, 32, 3, 3], a: 0, using: &generator)
        expectBound(relu.scalars, (6 / Float(288)).squareRoot())
    }

    /// 10 000 draws: the variance of U(±b) is b²/3, and the relative standard error of the
    /// sample variance is about 0.9%, so 5% is over five standard errors.
    @Test func xavierUniformBoundAndVariance() {
        var generator = RandomGenerator(seed: 2)
        let gain = Initializer.leakyReluGain()
        let values = Initializer.xavierUniform(shape: [100, 100], gain: gain, using: &generator).scalars
        let bound = gain * (6 / Float(200)).squareRoot()
        expectBound(values, bound)
        let mean = values.reduce(0, +) / Float(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count - 1)
        let expected = bound * bound / 3
        #expect(abs(variance - expected) <= 0.05 * expected, "variance \(variance) vs \(expected)")
    }

    @Test func leakyReluGain() {
        #expect(abs(Initializer.leakyReluGain(negativeSlope: 0.01) - (2 / 1.0001 as Float).squareRoot()) <= 1e-6)
        #expect(abs(Initializer.leakyReluGain(negativeSlope: 0) - Float(2).squareRoot()) <= 1e-6)
        #expect(abs(Initializer.leakyReluGain(negativeSlope: 1) - 1) <= 1e-6)
    }

    @Test func linearDefaultWeightAndBiasBounds() {
        var generator = RandomGenerator(seed: 3)
        let layer = Linear(inFeatures: 400, outFeatures: 1000, generator: &generator)
        expectBound(layer.weight.scalars, 1 / 20)
        expectBound(layer.bias?.scalars ?? [], 1 / 20)
        #expect(layer.weight.requiresGrad && layer.bias?.requiresGrad == true)
    }

    @Test func convolutionDefaultWeightAndBiasBounds() {
        var generator = RandomGenerator(seed: 4)
        let conv = Conv2d(inChannels: 16, outChannels: 500, kernelSize: 3, generator: &generator)
        // fan_in = 16·3·3 = 144.
        expectBound(conv.weight.scalars, 1 / 12)
        expectBound(conv.bias?.scalars ?? [], 1 / 12)
        // ConvTranspose2d [in, out, kh, kw]: fan_in = out·kh·kw = 500·9 = 4500.
        let transposed = ConvTranspose2d(inChannels: 16, outChannels: 500, kernelSize: 3, generator: &generator)
        expectBound(transposed.weight.scalars, 1 / Float(4500).squareRoot())
        expectBound(transposed.bias?.scalars ?? [], 1 / Float(4500).squareRoot())
    }

    @Test func biasInitialiserBound() {
        var generator = RandomGenerator(seed: 5)
        expectBound(Initializer.bias(count: 2000, fanIn: 25, using: &generator).scalars, 0.2)
    }
}
