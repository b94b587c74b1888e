import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN
import Testing

/// Networks by name: the built-ins are registered, specifications resolve to taps and
/// shapes, and bad names or configurations say what is wrong.
@Suite("Network registry")
struct NetworkRegistryTests {
    @Test func theBuiltInNetworksAreRegistered() {
        let names = NetworkRegistry.available.map(\.name)
        for name in ["cifar10-lenet", "mnist-lenet", "mlp"] { #expect(names.contains(name), "\(names)") }
    }

    @Test func defaultsResolveToTheNetworksShapesTapsAndCodes() throws {
        let cifar = try NetworkRegistry.defaults(for: "cifar10-lenet").resolved()
        #expect(cifar.inputShape == [3, 32, 32] && cifar.tapNames == ["conv1", "conv2", "conv3", "code"] && cifar.codeLength == 128)
        let mnist = try NetworkRegistry.defaults(for: "mnist-lenet").resolved()
        #expect(mnist.inputShape == [1, 28, 28] && mnist.tapNames == ["conv1", "conv2", "code"] && mnist.codeLength == 32)
    }

    @Test func anUnknownNameListsTheRegisteredOnes() {
        let error = #expect(throws: NetworkError.self) { try NetworkSpecification(name: "resnet", configuration: .object([:])).resolved() }
        guard case .unknownNetwork("resnet", let available)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(available.contains("mnist-lenet"))
    }

    @Test(arguments: [0, 20, -16])
    func aLeNetCodeThatIsNotAPositiveMultipleOf16IsInvalid(codeLength: Int) {
        let specification = NetworkSpecification(name: "cifar10-lenet", configuration: .object(["codeLength": .number(Double(codeLength))]))
        let error = #expect(throws: NetworkError.self) { try specification.resolved() }
        guard case .invalidConfiguration(let network, let message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(network == "cifar10-lenet" && message.contains("\(codeLength)"))
    }

    @Test func aConfigurationOfTheWrongTypeSaysItDoesNotDecode() {
        let specification = NetworkSpecification(name: "mnist-lenet", configuration: .object(["codeLength": .string("big")]))
        let error = #expect(throws: NetworkError.self) { try specification.resolved() }
        guard case .invalidConfiguration(_, let message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(message.contains("does not decode"))
    }

    @Test func missingFieldsTakeTheirDefaultsAndTheResolvedSpecificationSpellsThemOut() throws {
        let resolved = try NetworkSpecification(name: "mlp", configuration: .object(["inputFeatures": .number(6)])).resolved()
        #expect(resolved.tapNames == ["hidden1", "code"] && resolved.codeLength == 32 && resolved.inputShape == [6])
        #expect(resolved.specification.configuration["hiddenSizes"] == .array([.number(64)]))
        #expect(resolved.specification.configuration["batchNorm"] == .bool(false))
    }

    @Test func aSpecificationRoundTripsThroughJSON() throws {
        var configuration = MLPAutoencoderConfiguration()
        configuration.inputFeatures = 5
        configuration.hiddenSizes = [8, 4]
        let specification = try NetworkSpecification(configuration)
        let decoded = try JSONDecoder().decode(NetworkSpecification.self, from: JSONEncoder().encode(specification))
        #expect(decoded == specification)
        #expect(try decoded.resolved().tapNames == ["hidden1", "hidden2", "code"])
    }

    @Test func aNetworkRegisteredLaterResolvesByName() throws {
        NetworkRegistry.register(TinyConfiguration.self)
        let resolved = try NetworkRegistry.defaults(for: TinyConfiguration.networkName).resolved()
        var generator = RandomGenerator(seed: 1)
        let network = try resolved.makeNetwork(generator: &generator)
        #expect(network.tapNames == ["hidden1", "code"] && network.inputShape == [3])
    }
}

/// A network a package might add: the MLP under another name, with its own defaults.
struct TinyConfiguration: NetworkConfiguration {
    static let networkName = "test-tiny"
    static let summary = "a three-feature MLP for tests"
    var codeLength = 2
    init() {}
    var inputShape: [Int] { [3] }
    var tapNames: [String] { ["hidden1", "code"] }
    func validate() throws {}
    func makeNetwork(generator: inout RandomGenerator) throws -> TappedNetwork {
        var mlp = MLPAutoencoderConfiguration()
        mlp.inputFeatures = 3
        mlp.hiddenSizes = [4]
        mlp.codeLength = codeLength
        return try mlp.makeNetwork(generator: &generator)
    }
}

/// Sizes that only a mistake or a damaged manifest would hold are refused before anything
/// is allocated.
@Suite("Network size limits")
struct NetworkSizeLimitTests {
    @Test(arguments: [4112, 1 << 40])
    func aLeNetCodeBeyond4096IsInvalid(codeLength: Int) {
        let specification = NetworkSpecification(name: "mnist-lenet", configuration: .object(["codeLength": .number(Double(codeLength))]))
        #expect(throws: NetworkError.self) { try specification.resolved() }
    }

    @Test(arguments: [[1 << 20, 1 << 20], [Int.max / 2, 2]])
    func anMLPBeyondAGibibyteOfWeightsIsInvalid(widths: [Int]) {
        var configuration = MLPAutoencoderConfiguration()
        configuration.inputFeatures = widths[0]
        configuration.hiddenSizes = [widths[1]]
        let error = #expect(throws: NetworkError.self) { try configuration.validate() }
        #expect(String(describing: error).contains("weights"))
    }

    @Test func aLargeButReasonableMLPIsValid() throws {
        var configuration = MLPAutoencoderConfiguration()
        configuration.inputFeatures = 100_000
        configuration.hiddenSizes = [512, 128]
        try configuration.validate()
    }
}
