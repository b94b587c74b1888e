import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN
import MOCCATestSupport
import Testing

/// The MVTec residual autoencoder (`mvtec-resnet`) against PyTorch: `mvtec_ae` (3×16×16,
/// code 8, selector heads, batch 4) and `mvtec_ae_gray` (1×16×16, code 8, pooling and
/// identity heads), computed in float64 by `scripts/make-golden.py` from a PyTorch twin
/// whose `state_dict` keys are this module's weight-file keys.
///
/// One train-mode forward: every tap (`o1`, `o2` for the first sample), every head, the
/// reconstruction and its loss; one backward of `loss + Σ_i Σ head_i ⊙ det_fill(2000 + i)`
/// to the input and a dozen parameters spread over the encoder, decoder and heads; the
/// running statistics it leaves; and eval-mode outputs that use them.
///
/// Unlike `cifar_ae`, the input is not nudged away from the network's kinks, and the
/// gradients are ill-conditioned: in float64, changing `x` by 1e-7 moves them by up to 1e-2
/// (BatchNorm over a batch of 4 behind a dozen LeakyReLUs). Any float32 implementation lands
/// away from the reference by an amount that depends on its rounding, so the fixture records
/// PyTorch's own spread, the worse of its contiguous and channels-last float32 runs
/// (`torch_f32_deviation.<key>`: max-abs relative ; relative L2), and keeps, of eight input
/// seeds, the one where that spread is smallest. Each key is held to
/// `max(floor, 16 × PyTorch's spread)` in both measures, floors 1e-4 (values) and 3e-4
/// (gradients). Forward values, heads, running statistics and eval-mode outputs are well
/// conditioned (PyTorch's spread ≤ 1e-4, most ≤ 1e-5), so those bounds are tight; the
/// gradient bounds are 5e-3–6e-2 — loose for rounding, yet a wrong layer (a factor, a
/// transposed weight, a dropped term) misses them by orders of magnitude.
///
/// Measured on x86-64 (oneDNN 2.6): forward values, heads, running statistics and eval-mode
/// outputs within 8e-5 (max-abs relative; 0.25× their bound at worst, the reconstruction);
/// gradients 0.2–3.4× PyTorch's own spread (colour) and 0.2–1.2× (grey) with oneDNN's AVX-512
/// kernels. Its AVX2 kernels (`ONEDNN_MAX_CPU_ISA=AVX2`, and every AVX2-only host) round
/// differently, and two colour gradients land at 10.5× (`encoderLayers.dwn1.conv2a.weight`,
/// max-abs) and 10.2× (`decoderLayers.bn1.bias`): the factor 16 covers both kernel families
/// with margin while a wrong layer still misses by orders of magnitude. The better fix is the
/// `cifar_ae` one, an input nudged off the kinks, which would make the gradients well
/// conditioned and let the bounds tighten.
@Suite("MVTec residual autoencoder matches PyTorch")
struct ResidualAutoencoderGoldenTests {
    static let batch = 4
    /// How many times PyTorch's own float32 spread a value may deviate (see above).
    static let spreadFactor: Float = 16

    /// A network with the fixture's parameters: parameter `i` of the sorted keys gets seed
    /// `1000 + i`; BatchNorm weights are `det_fill(·, 0.2) + 1`, biases `det_fill(·, 0.1)`,
    /// other weights `det_fill(·, 1/√fan_in)`.
    func makeModel(_ fixture: SafeTensors.Contents, channels: Int, selectors: Bool) throws -> ResidualInspectionAutoencoder {
        var configuration = ResidualInspectionConfiguration()
        configuration.channels = channels
        configuration.imageSize = 16
        configuration.codeLength = 8
        configuration.selectors = selectors
        var generator = RandomGenerator(seed: 0)
        let model = try ResidualInspectionAutoencoder(configuration, generator: &generator)
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters())
        let keys = parameters.keys.sorted()
        let recorded = try #require(fixture.metadata["parameters"]).split(separator: ",").map(String.init)
        #expect(keys == recorded, "the parameter keys differ from the PyTorch twin's")
        var state: [String: Tensor] = [:]
        for (i, key) in keys.enumerated() {
            let shape = try #require(parameters[key]).shape
            let parts = key.split(separator: ".")
            let (module, kind) = (parts[parts.count - 2], parts[parts.count - 1])
            let seed = 1000 + i
            if module.hasPrefix("bn") {
                state[key] = kind == "weight" ? try deterministicFill(shape, seed: seed, scale: 0.2) + 1 : deterministicFill(shape, seed: seed, scale: 0.1)
            } else if kind == "bias" {
                state[key] = deterministicFill(shape, seed: seed, scale: 0.1)
            } else {
                let fanIn = shape.dropFirst().reduce(1, *)
                state[key] = deterministicFill(shape, seed: seed, scale: 1 / Double(fanIn).squareRoot())
            }
        }
        try model.load(state, strict: false)
        return model
    }

    /// Compares `actual` with the fixture's `key` (``TorchComparison``, bounded by
    /// ``spreadFactor`` × PyTorch's own float32 deviation, at least `floor`).
    func expectClose(_ actual: Tensor, _ fixture: SafeTensors.Contents, _ key: String, floor: Float = 1e-4,
                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let comparison = try TorchComparison(actual, fixture, key, spreadFactor: Self.spreadFactor, floor: floor)
        #expect(comparison.passes, "\(comparison)", sourceLocation: sourceLocation)
    }

    func check(_ file: String, channels: Int, selectors: Bool, mapsStored: Bool, gradients: [String]) throws {
        let fixture = try Fixtures.load(file)
        let model = try makeModel(fixture, channels: channels, selectors: selectors)
        let x = leaf(try fixture.tensor("x"))
        let seed = try #require(fixture.metadata["x.seed"].flatMap(Int.init))
        let filled = try deterministicFill([Self.batch, channels, 16, 16], seed: seed, scale: 0.5) + 0.5
        #expect(x.scalars == filled.scalars, "x is not det_fill(seed \(seed)) + 0.5")

        model.train()
        let encoding = try model.encode(x)
        let heads = try zip(model.heads, encoding.taps).map { try $0($1) }
        let recon = try model.decode(try #require(encoding.code))
        let loss = try Tensor.meanSquaredError(recon, x)
        var total = loss
        for (i, head) in heads.enumerated() { total = try total + project(head, deterministicFill(head.shape, seed: 2000 + i)) }

        try expectClose(recon, fixture, "recon")
        try expectClose(loss.reshaped(to: [1]), fixture, "loss")
        for (name, tap) in zip(ResidualInspectionAutoencoder.taps, encoding.taps) {
            if tap.rank == 4 && !mapsStored { continue }
            try expectClose(name == "o1" || name == "o2" ? tap.slice(alongAxis: 0, 0..<1) : tap, fixture, "tap.\(name)")
        }
        for (name, head) in zip(ResidualInspectionAutoencoder.taps, heads) { try expectClose(head, fixture, "head.\(name)") }
        let state = model.stateDictionary()
        for name in ["encoderLayers.bn", "encoderLayers.res.bn2", "decoderLayers.bn1", "decoderLayers.up3.bn2a"] {
            for suffix in ["running_mean", "running_var"] {
                try expectClose(try #require(state["\(name).\(suffix)"]), fixture, "\(name).\(suffix)")
            }
        }

        try total.backward()
        try expectClose(try #require(x.grad), fixture, "grad.x", floor: 3e-4)
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters())
        for key in gradients {
            let grad = try #require(parameters[key]?.grad, "\(key): no gradient")
            try expectClose(grad, fixture, "grad.\(key)", floor: 3e-4)
        }

        model.eval()
        try withoutGradients {
            let taps = try model.encode(x).taps
            try expectClose(model.decode(taps[7]), fixture, "recon_eval")
            try expectClose(model.heads[2](taps[2]), fixture, "head_eval.o3")
            try expectClose(model.heads[7](taps[7]), fixture, "head_eval.z")
            try expectClose(taps[7], fixture, "tap_eval.z")
        }
    }

    static let sharedGradients = [
        "encoderLayers.conv.weight", "encoderLayers.res.bn1.weight", "encoderLayers.dwn1.conv2a.weight",
        "encoderLayers.fc2.bias", "decoderLayers.bn1.bias", "decoderLayers.up3.conv2a.weight", "decoderLayers.conv.weight",
    ]

    @Test func colourWithSelectorHeads() throws {
        try check("mvtec_ae", channels: 3, selectors: true, mapsStored: true, gradients: Self.sharedGradients + [
            "heads.0.conv.weight", "heads.4.conv.weight", "heads.2.bn.bias", "heads.5.bn.weight", "heads.7.fc2.bias",
        ])
    }

    @Test func greyWithPoolingAndIdentityHeads() throws {
        try check("mvtec_ae_gray", channels: 1, selectors: false, mapsStored: false, gradients: Self.sharedGradients)
    }
}
