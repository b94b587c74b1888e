import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

/// What the detector relies on in every registered network: the one-class phase trains the
/// whole encoder and nothing else, tap vectors are `[N, D]`, reconstruction errors are per
/// sample, and weight keys stay those of the reference modules.
@Suite("Tapped networks")
struct TappedNetworkTests {
    static func network(_ name: String, _ configuration: JSONValue = .object([:])) throws -> TappedNetwork {
        var generator = RandomGenerator(seed: 3)
        return try NetworkSpecification(name: name, configuration: configuration).resolved().makeNetwork(generator: &generator)
    }

    static let networks: [(String, JSONValue)] = [
        ("cifar10-lenet", .object([:])), ("mnist-lenet", .object([:])),
        ("mlp", .object(["inputFeatures": .number(7), "hiddenSizes": .array([.number(6), .number(5)]), "codeLength": .number(4)])),
        ("mlp", .object(["inputFeatures": .number(7), "batchNorm": .bool(true)])),
    ]

    @Test(arguments: 0..<4)
    func theOneClassPhaseTrainsEveryEncoderParameterAndNoDecoderOne(index: Int) throws {
        let (name, configuration) = Self.networks[index]
        let network = try Self.network(name, configuration)
        let trained = network.oneClassParameters
        #expect(trained.count == network.encoder.parameters().count + network.tapHeads.flatMap { $0.parameters() }.count)
        // Every parameter the network has is either trained in phase 2 or the decoder's.
        let all = network.namedParameters()
        let encoderKeys = Set(network.encoder.namedParameters().map(\.0))
        #expect(!encoderKeys.isEmpty)
        #expect(all.filter { p in trained.contains { $0 === p.1 } }.count == trained.count)

        // A one-class loss on every tap reaches every trained parameter.
        network.train()
        let x = try deterministicFill([4] + network.inputShape, seed: 5, scale: 0.5) + 0.5
        let vectors = try network.tapVectors(x, taps: network.tapNames)
        var loss: Tensor?
        for v in vectors {
            #expect(v.rank == 2 && v.shape[0] == 4)
            let term = try (v + 0.3).squared().sum()
            loss = try loss.map { try $0 + term } ?? term
        }
        try #require(loss).backward()
        for (key, parameter) in all where trained.contains(where: { $0 === parameter }) {
            let gradient = try #require(parameter.grad, "\(name) \(key): no gradient")
            #expect(gradient.scalars.contains { $0 != 0 }, "\(name) \(key): zero gradient")
        }
        for (key, parameter) in all where !trained.contains(where: { $0 === parameter }) {
            #expect(parameter.grad == nil, "\(name) \(key) is not the encoder's but got a gradient")
        }
    }

    @Test(arguments: 0..<4)
    func reconstructionErrorIsPerSampleAndTheLossIsItsMean(index: Int) throws {
        let (name, configuration) = Self.networks[index]
        let network = try Self.network(name, configuration)
        network.eval()
        let x = try deterministicFill([3] + network.inputShape, seed: 8, scale: 0.5) + 0.5
        let errors = try withoutGradients { try network.reconstructionError(x) }
        #expect(errors.shape == [3])
        let loss = try withoutGradients { try network.reconstructionLoss(x) }
        let mean = errors.scalars.reduce(0, +) / 3
        #expect(abs(loss.item - mean) <= 1e-4 * max(1, mean))
    }

    @Test func theLeNetsKeepTheReferenceModulesFlatWeightKeys() throws {
        let cifar = Set(try Self.network("cifar10-lenet").stateDictionary().keys)
        for key in ["conv1.weight", "bn2d1.running_mean", "fc1.weight", "bn1d.running_var", "deconv4.weight", "bn2d6.running_mean"] {
            #expect(cifar.contains(key), "\(key) not in \(cifar.sorted())")
        }
        #expect(!cifar.contains { $0.hasPrefix("encoderLayers") || $0.hasPrefix("decoderLayers") || $0.hasPrefix("heads") })
        let mnist = Set(try Self.network("mnist-lenet").stateDictionary().keys)
        #expect(mnist.isSuperset(of: ["conv1.weight", "bn1.running_mean", "fc1.weight", "deconv3.weight", "bn4.running_var"]))
    }

    @Test func aBatchOfTheWrongShapeNamesTheExpectedShape() throws {
        let network = try Self.network("mlp", .object(["inputFeatures": .number(7)]))
        let error = #expect(throws: TensorError.self) { _ = try network.tapVectors(Tensor(zeros: [2, 6]), taps: ["code"]) }
        #expect(String(describing: error).contains("[N, 7]"))
    }
}
