import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

/// `video-c3d`: its registered defaults, the errors that name each bad field, tap and head
/// shapes, causality in time end to end, the reconstruction error, and that a specification
/// and the weights (heads included) round-trip.
@Suite("Video autoencoder")
struct VideoAutoencoderTests {
    func small(channels: Int = 1, clipLength: Int = 16, height: Int = 32, width: Int = 64) -> VideoAutoencoderConfiguration {
        var configuration = VideoAutoencoderConfiguration()
        (configuration.channels, configuration.clipLength) = (channels, clipLength)
        (configuration.height, configuration.width) = (height, width)
        (configuration.codeLength, configuration.lstmHidden) = (8, 6)
        return configuration
    }

    @Test func itIsRegisteredWithItsDefaults() throws {
        #expect(NetworkRegistry.available.map(\.name).contains("video-c3d"))
        let resolved = try NetworkRegistry.defaults(for: "video-c3d").resolved()
        #expect(resolved.inputShape == [1, 16, 64, 96] && resolved.codeLength == 64)
        #expect(resolved.tapNames == ["c1", "c2", "c3", "c4", "c5", "fc1", "code"])
        let configuration = resolved.specification.configuration
        #expect(configuration["lstmHidden"] == .number(100) && configuration["clipLength"] == .number(16))
        #expect(configuration["height"] == .number(64) && configuration["width"] == .number(96))
    }

    @Test func missingFieldsTakeTheirDefaults() throws {
        let resolved = try NetworkSpecification(name: "video-c3d", configuration: .object(["channels": .number(3), "width": .number(128)])).resolved()
        #expect(resolved.inputShape == [3, 16, 64, 128] && resolved.codeLength == 64)
        #expect(resolved.specification.configuration["lstmHidden"] == .number(100))
    }

    @Test(arguments: [
        ("channels", JSONValue.number(2)), ("channels", .number(0)),
        ("clipLength", .number(0)), ("clipLength", .number(6)), ("clipLength", .number(-4)),
        ("height", .number(0)), ("height", .number(48)), ("height", .number(16)),
        ("width", .number(100)), ("width", .number(-32)),
        ("codeLength", .number(0)), ("codeLength", .number(-3)),
        ("lstmHidden", .number(0)), ("lstmHidden", .number(-1)),
    ])
    func aFieldOutOfRangeIsNamed(field: String, value: JSONValue) {
        let specification = NetworkSpecification(name: "video-c3d", configuration: .object([field: value]))
        let error = #expect(throws: NetworkError.self) { try specification.resolved() }
        guard case .invalidConfiguration(let network, let message)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(network == "video-c3d" && message.contains(field), "\(message)")
    }

    @Test func aConfigurationThatDoesNotDecodeIsNamed() {
        let specification = NetworkSpecification(name: "video-c3d", configuration: .object(["clipLength": .string("sixteen")]))
        #expect(throws: NetworkError.self) { try specification.resolved() }
    }

    @Test func sizesThatWouldAllocateAbsurdWeightsAreRefusedBeforeAllocating() {
        for (field, value) in [("height", 1 << 16), ("width", 1 << 16), ("codeLength", 1 << 30), ("lstmHidden", 1 << 14)] {
            let specification = NetworkSpecification(name: "video-c3d", configuration: .object([field: .number(Double(value))]))
            let error = #expect(throws: NetworkError.self) { try specification.resolved() }
            guard case .invalidConfiguration(_, let message)? = error else { Issue.record("got \(String(describing: error))"); return }
            #expect(message.contains("weights"), "\(message)")
        }
    }

    @Test func tapsHeadsAndReconstructionHaveTheirShapes() throws {
        var generator = RandomGenerator(seed: 3)
        for (channels, clipLength) in [(1, 16), (3, 8)] {
            let network = try VideoAutoencoder(small(channels: channels, clipLength: clipLength), generator: &generator)
            let x = Tensor.uniform(shape: [2, channels, clipLength, 32, 64], using: &generator)
            let (t, s) = (clipLength, clipLength / 4)
            let outputs = try network.tapOutputs(x, taps: network.tapNames)
            #expect(outputs.map(\.shape) == [[2, 8, t, 16, 32], [2, 16, t, 8, 16], [2, 32, t / 2, 4, 8], [2, 64, t / 2, 2, 4],
                                             [2, 64, s, 1, 2], [2, s, 512], [2, s, 8]])
            let vectors = try network.tapVectors(x, taps: network.tapNames)
            #expect(vectors.map(\.shape) == Array(repeating: [2, 6], count: 7))
            #expect(try network(x).shape == [2, channels, clipLength, 32, 64])
            #expect(outputs[6].scalars.allSatisfy { $0 > 0 && $0 < 1 }, "the code is a sigmoid")
            #expect(outputs[5].scalars.allSatisfy { abs($0) < 1 }, "fc1 is a tanh")
        }
    }

    @Test func aClipOfTheWrongShapeIsRefused() throws {
        var generator = RandomGenerator(seed: 4)
        let network = try VideoAutoencoder(small(), generator: &generator)
        for shape in [[2, 1, 8, 32, 64], [2, 1, 16, 64, 32], [2, 16, 32, 64], [2, 3, 16, 32, 64]] {
            #expect(throws: TensorError.self) { try network.tapOutputs(Tensor(zeros: shape), taps: ["c1"]) }
        }
        #expect(throws: TensorError.self) { try network.decode(Tensor(zeros: [2, 4, 7])) }
    }

    /// In evaluation mode, changing frame `f` leaves every earlier step of every tap unchanged
    /// (and changes the step that first sees it): frame `f` reaches the full-rate taps `c1`,
    /// `c2` at step `f`, the half-rate `c3`, `c4` at step `⌈f/2⌉`, and the code at step `⌈f/4⌉`.
    /// The last three frames never reach the code (its last step sees frames up to `T − 4`).
    @Test func theEncoderIsCausalInTime() throws {
        var generator = RandomGenerator(seed: 5)
        let network = try VideoAutoencoder(small(), generator: &generator)
        network.eval()
        let x = Tensor.uniform(shape: [2, 1, 16, 32, 64], using: &generator)
        let base = try withoutGradients { try network.tapOutputs(x, taps: network.tapNames) }
        for frame in [4, 8, 12, 15] {
            var scalars = x.scalars
            let frameSize = 32 * 64
            for n in 0..<2 { for i in 0..<frameSize { scalars[(n * 16 + frame) * frameSize + i] += 0.5 } }
            let perturbed = try Tensor(shape: x.shape, scalars: scalars)
            let outputs = try withoutGradients { try network.tapOutputs(perturbed, taps: network.tapNames) }
            for (index, (a, b)) in zip(base, outputs).enumerated() {
                let timeAxis = a.rank == 5 ? 2 : 1
                let steps = a.shape[timeAxis]
                let rate = 16 / steps
                let firstReached = (frame + rate - 1) / rate   // the first step that sees the frame
                for step in 0..<steps {
                    let (u, v) = (try a.slice(alongAxis: timeAxis, step..<(step + 1)), try b.slice(alongAxis: timeAxis, step..<(step + 1)))
                    let difference = zip(u.scalars, v.scalars).map { abs($0 - $1) }.max() ?? 0
                    if step < firstReached {
                        #expect(difference == 0, "tap \(VideoAutoencoder.taps[index]) step \(step) changed with frame \(frame)")
                    } else if step == firstReached {
                        #expect(difference > 0, "tap \(VideoAutoencoder.taps[index]) step \(step) did not see frame \(frame)")
                    }
                }
            }
        }
    }

    @Test func theReconstructionErrorIsEachClipsSumOfSquaresAndTheLossTheirMean() throws {
        var generator = RandomGenerator(seed: 6)
        let network = try VideoAutoencoder(small(clipLength: 8), generator: &generator)
        network.eval()
        let x = Tensor.uniform(shape: [3, 1, 8, 32, 64], using: &generator)
        let (errors, loss, reconstruction) = try withoutGradients { (try network.reconstructionError(x), try network.reconstructionLoss(x), try network(x)) }
        let (size, r, v) = (8 * 32 * 64, reconstruction.scalars, x.scalars)
        let expected = (0..<3).map { n in (0..<size).reduce(Float(0)) { sum, i in
            let d = r[n * size + i] - v[n * size + i]
            return sum + d * d
        } }
        #expect(errors.shape == [3])
        #expect(zip(errors.scalars, expected).allSatisfy { abs($0 - $1) <= 1e-4 * max(1, abs($1)) })
        #expect(abs(loss.item - expected.reduce(0, +) / 3) <= 1e-4 * max(1, loss.item))
    }

    /// `selectors` gives every head a per-step selector: spatial on the five convolutional
    /// taps, vector on `fc1` and `code`; the representations keep their shape.
    @Test func selectorsPutASelectorInEveryHead() throws {
        var generator = RandomGenerator(seed: 5)
        var configuration = small(channels: 1, clipLength: 8)
        configuration.selectors = true
        let network = try VideoAutoencoder(configuration, generator: &generator)
        #expect(network.heads.prefix(5).allSatisfy { ($0 as? TemporalLSTMHead)?.selector is SpatialSelectorHead })
        #expect(network.heads.suffix(2).allSatisfy { ($0 as? TemporalLSTMHead)?.selector is VectorSelectorHead })
        let state = network.stateDictionary()
        #expect(state["heads.0.selector.conv.weight"]?.shape == [1, 8, 1, 1] && state["heads.6.selector.fc1.weight"]?.shape == [256, 8])
        #expect(state["heads.0.lstm.weight_ih_l0"]?.shape == [24, 128])
        let x = Tensor.uniform(shape: [2, 1, 8, 32, 64], using: &generator)
        #expect(try network.tapVectors(x, taps: network.tapNames).map(\.shape) == Array(repeating: [2, 6], count: 7))
        // Stored configurations without the field have no selectors.
        let decoded = try JSONDecoder().decode(VideoAutoencoderConfiguration.self, from: Data("{}".utf8))
        #expect(decoded.selectors == false)
    }

    @Test func aSpecificationAndTheWeightsRoundTrip() throws {
        // The specification through JSON, as a detector's manifest stores it.
        let specification = try NetworkSpecification(small(channels: 3, clipLength: 8))
        let decoded = try JSONDecoder().decode(NetworkSpecification.self, from: JSONEncoder().encode(specification))
        #expect(decoded == specification)
        let resolved = try decoded.resolved()
        #expect(resolved.inputShape == [3, 8, 32, 64] && resolved.codeLength == 8 && resolved.tapNames == VideoAutoencoder.taps)

        var generator = RandomGenerator(seed: 7)
        let network = try resolved.makeNetwork(generator: &generator)
        #expect(network is VideoAutoencoder)
        // The heads are trained in the one-class phase and saved with the network.
        let headParameters = network.tapHeads.flatMap { $0.parameters() }
        #expect(headParameters.count == 7 * 4)
        #expect(network.oneClassParameters.count == network.encoder.parameters().count + headParameters.count)
        let state = network.stateDictionary()
        #expect(state["heads.5.lstm.weight_ih_l0"]?.shape == [24, 512] && state["heads.6.lstm.weight_hh_l0"]?.shape == [24, 6])
        #expect(state["encoderLayers.fc1.weight"]?.shape == [512, 64 * 1 * 2])
        #expect(state["encoderLayers.dwn1.conv1a.weight"]?.shape == [8, 3, 3, 3, 3])
        #expect(state["decoderLayers.up1.conv1a.weight"]?.shape == [64, 64, 5, 5, 5])
        #expect(state["decoderLayers.conv.bias"]?.shape == [3])

        // Train once so that the running statistics differ from a fresh network's, then
        // round-trip through a weight file into a network drawn from another seed.
        let x = Tensor.uniform(shape: [2, 3, 8, 32, 64], using: &generator)
        _ = try network.tapVectors(x, taps: network.tapNames)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("video-c3d-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(.init(tensors: network.stateDictionary()), to: url)
        var other = RandomGenerator(seed: 8)
        let copy = try resolved.makeNetwork(generator: &other)
        try copy.load(SafeTensors.read(from: url).tensors)
        let (original, copied) = (network.stateDictionary(), copy.stateDictionary())
        #expect(Set(copied.keys) == Set(original.keys))
        for (key, tensor) in original { #expect(copied[key]?.scalars == tensor.scalars, "\(key)") }
        network.eval()
        copy.eval()
        let (a, b) = try withoutGradients { (try network.tapVectors(x, taps: network.tapNames), try copy.tapVectors(x, taps: copy.tapNames)) }
        for (u, v) in zip(a, b) { #expect(u.scalars == v.scalars) }
        let (e, f) = try withoutGradients { (try network.reconstructionError(x), try copy.reconstructionError(x)) }
        #expect(e.scalars == f.scalars)
    }
}
