import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

/// `mvtec-resnet`: its registered defaults, the errors that name each bad field, tap and head
/// shapes, and that the selector heads' weights travel with the network's weight file.
@Suite("MVTec residual autoencoder")
struct ResidualInspectionTests {
    func small(channels: Int = 3, selectors: Bool) -> ResidualInspectionConfiguration {
        var configuration = ResidualInspectionConfiguration()
        configuration.channels = channels
        configuration.imageSize = 16
        configuration.codeLength = 8
        configuration.selectors = selectors
        return configuration
    }

    @Test func itIsRegisteredWithTheReferenceDefaults() throws {
        #expect(NetworkRegistry.available.map(\.name).contains("mvtec-resnet"))
        let resolved = try NetworkRegistry.defaults(for: "mvtec-resnet").resolved()
        #expect(resolved.inputShape == [3, 128, 128] && resolved.codeLength == 64)
        #expect(resolved.tapNames == ["o1", "o2", "o3", "o4", "o5", "o7", "o8", "z"])
        #expect(resolved.specification.configuration["selectors"] == .bool(false))
        #expect(resolved.specification.configuration["imageSize"] == .number(128))
        #expect(resolved.specification.configuration["channels"] == .number(3))
    }

    @Test func missingFieldsTakeTheirDefaults() throws {
        let resolved = try NetworkSpecification(name: "mvtec-resnet", configuration: .object(["channels": .number(1), "imageSize": .number(64)])).resolved()
        #expect(resolved.inputShape == [1, 64, 64] && resolved.codeLength == 64)
    }

    @Test(arguments: [
        ("channels", JSONValue.number(2)), ("channels", .number(0)),
        ("imageSize", .number(12)), ("imageSize", .number(8)), ("imageSize", .number(100)),
        ("codeLength", .number(0)), ("codeLength", .number(-3)),
    ])
    func aFieldOutOfRangeIsNamed(field: String, value: JSONValue) {
        let specification = NetworkSpecification(name: "mvtec-resnet", configuration: .object([field: value]))
        let error = #expect(throws: NetworkError.self) { try specification.resolved() }
        guard case .invalidConfiguration(let network, let message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(network == "mvtec-resnet" && message.contains(field), "\(message)")
    }

    @Test func sizesThatWouldAllocateAbsurdWeightsAreRefusedBeforeAllocating() {
        for (field, value) in [("imageSize", 1 << 12), ("codeLength", 1 << 30)] {
            let specification = NetworkSpecification(name: "mvtec-resnet", configuration: .object([field: .number(Double(value))]))
            let error = #expect(throws: NetworkError.self) { try specification.resolved() }
            guard case .invalidConfiguration(_, let message)? = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(message.contains("weights"), "\(message)")
        }
    }

    @Test func tapsAndHeadsHaveTheReferenceShapes() throws {
        var generator = RandomGenerator(seed: 3)
        let x = Tensor.uniform(shape: [2, 3, 16, 16], using: &generator)
        for selectors in [false, true] {
            let network = try ResidualInspectionAutoencoder(small(selectors: selectors), generator: &generator)
            let outputs = try network.tapOutputs(x, taps: network.tapNames)
            #expect(outputs.map(\.shape) == [[2, 32, 14, 14], [2, 32, 14, 14], [2, 64, 7, 7], [2, 128, 4, 4], [2, 256, 2, 2], [2, 256], [2, 8], [2, 8]])
            let vectors = try network.tapVectors(x, taps: network.tapNames)
            let widths = selectors ? Array(repeating: 128, count: 8) : [32, 32, 64, 128, 256, 256, 8, 8]
            #expect(vectors.map(\.shape) == widths.map { [2, $0] })
            #expect(try network(x).shape == [2, 3, 16, 16])
            let z = outputs[7].scalars
            #expect(z.allSatisfy { $0 > 0 && $0 < 1 }, "z is a sigmoid")
        }
    }

    @Test func theReconstructionErrorIsEachSamplesSumOfSquaresAndTheLossTheirMean() throws {
        var generator = RandomGenerator(seed: 4)
        let network = try ResidualInspectionAutoencoder(small(channels: 1, selectors: false), generator: &generator)
        network.eval()
        let x = Tensor.uniform(shape: [3, 1, 16, 16], using: &generator)
        let (errors, loss, reconstruction) = try withoutGradients { (try network.reconstructionError(x), try network.reconstructionLoss(x), try network(x)) }
        let expected = (0..<3).map { n in (0..<256).reduce(Float(0)) { sum, i in
            let d = reconstruction.scalars[n * 256 + i] - x.scalars[n * 256 + i]
            return sum + d * d
        } }
        #expect(errors.shape == [3])
        #expect(zip(errors.scalars, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
        #expect(abs(loss.item - expected.reduce(0, +) / 3) <= 1e-4 * max(1, loss.item))
    }

    @Test func theSelectorHeadsAreTrainedInTheOneClassPhaseAndSavedWithTheNetwork() throws {
        var generator = RandomGenerator(seed: 5)
        let network = try ResidualInspectionAutoencoder(small(selectors: true), generator: &generator)
        let headParameters = network.heads.flatMap { $0.parameters() }
        // Spatial: conv 1x1 (weight, bias), fc1, bn, fc2 (2 each); vector: fc1, bn, fc2.
        #expect(headParameters.count == 5 * 8 + 3 * 6)
        #expect(network.oneClassParameters.count == network.encoderLayers.parameters().count + headParameters.count)
        let state = network.stateDictionary()
        for key in ["heads.0.conv.weight", "heads.4.fc1.weight", "heads.0.bn.running_mean", "heads.7.fc2.weight", "heads.5.bn.running_var"] {
            #expect(state[key] != nil, "\(key) is not in the state dictionary")
        }
        #expect(state["heads.4.conv.weight"]?.shape == [1, 256, 1, 1] && state["heads.6.fc1.weight"]?.shape == [256, 8])

        // Train once so that the running statistics differ from a fresh network's, then
        // round-trip through a weight file into a network drawn from another seed.
        let x = Tensor.uniform(shape: [4, 3, 16, 16], using: &generator)
        _ = try network.tapVectors(x, taps: network.tapNames)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("mvtec-resnet-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(.init(tensors: state), to: url)
        var other = RandomGenerator(seed: 6)
        let copy = try ResidualInspectionAutoencoder(small(selectors: true), generator: &other)
        try copy.load(SafeTensors.read(from: url).tensors)
        let copied = copy.stateDictionary()
        #expect(Set(copied.keys) == Set(state.keys))
        for (key, tensor) in network.stateDictionary() { #expect(copied[key]?.scalars == tensor.scalars, "\(key)") }
        network.eval()
        copy.eval()
        let (a, b) = try withoutGradients { (try network.tapVectors(x, taps: network.tapNames), try copy.tapVectors(x, taps: copy.tapNames)) }
        for (u, v) in zip(a, b) { #expect(u.scalars == v.scalars) }
    }

    @Test func aGreyNetworkWithoutSelectorsHasNoHeadWeights() throws {
        var generator = RandomGenerator(seed: 7)
        let network = try ResidualInspectionAutoencoder(small(channels: 1, selectors: false), generator: &generator)
        #expect(!network.stateDictionary().keys.contains { $0.hasPrefix("heads.") })
        #expect(network.decoderLayers.conv.weight.shape == [1, 32, 1, 1])
    }
}
