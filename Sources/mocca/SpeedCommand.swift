import ArgumentParser
import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN

/// `mocca speed`: throughput measurements that print one JSON object. Named apart from
/// `mocca benchmark`, the one-class protocol that measures detection quality.
struct Speed: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure throughput (images/s) and print JSON; compare with the PyTorch twins in scripts/bench.",
        discussion: "This measures speed on synthetic batches. For detection quality (AUROC over classes, seeds and boundaries) see `mocca benchmark`.",
        subcommands: [Core.self, OneClass.self, Scoring.self, ResidualAutoencoder.self, VideoAutoencoderSpeed.self, MLPSpeed.self])

    /// The compute core: per-layer timings and the CIFAR-10 LeNet autoencoder's training step.
    struct Core: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-layer forward/backward times and the CIFAR-10 autoencoder training step.")

        @OptionGroup var timing: TimingOptions
        @OptionGroup var precision: ConvolutionPrecisionOption
        @Option(help: "Batch size (at least 2).") var batch = 128
        @Flag(help: "Skip the per-layer timings.") var skipLayers = false
        @Flag(help: "Run inference unfused: every BatchNorm and activation as its own pass, the reference path.")
        var unfused = false

        func validate() throws { guard batch > 1 else { throw ValidationError("--batch must be at least 2") } }

        func run() throws {
            Threads.count = timing.threads
            var result: [String: Any] = [
                "bench": "mocca_core", "threads": timing.threads, "batch": batch,
                "samples": timing.samples, "steps_per_sample": timing.steps, "fused": !unfused, "clock": timing.clock,
                "precision": precision.precision.rawValue,
            ]
            let timer = timing.timer
            try ComputePrecision.run(in: precision.precision) { try InferenceFusion.$isEnabled.withValue(!unfused) {
                result.merge(try autoencoder(timer), uniquingKeysWith: { $1 })
                if !skipLayers { result["layers"] = try layers(timer) }
            } }
            try printJSON(result)
        }

        /// Training and inference throughput of the autoencoder, as `torch_cifar_ae.py` measures it.
        private func autoencoder(_ timer: Timer) throws -> [String: Any] {
            var generator = RandomGenerator(seed: 0)
            let model = try CIFAR10LeNetAutoencoder(codeLength: 128, generator: &generator)
            let optimizer = Adam(parameters: model.parameters(), learningRate: 1e-4, weightDecay: 0.5e-6)
            let pool = (0..<4).map { _ in Tensor.uniform(shape: [batch, 3, 32, 32], using: &generator) }
            var index = 0
            var loss: Float = 0
            model.train()
            let train = try timer.measure {
                optimizer.zeroGradients()
                let x = pool[index % pool.count]
                index += 1
                let objective = try Tensor.meanSquaredError(model(x), x)
                try objective.backward()
                try optimizer.step()
                loss = objective.item
            }
            model.eval()
            let infer = try timer.measure {
                try withoutGradients {
                    let x = pool[index % pool.count]
                    index += 1
                    _ = try model(x).plain()
                }
            }
            return [
                "params": model.parameters().reduce(0) { $0 + $1.count },
                "train_img_per_s_best": round1(Double(batch) / train.best),
                "train_img_per_s_median": round1(Double(batch) / train.median),
                "train_step_ms_min": round1(1e3 * train.best),
                "train_step_ms_median": round1(1e3 * train.median),
                "infer_img_per_s_best": round1(Double(batch) / infer.best),
                "infer_img_per_s_median": round1(Double(batch) / infer.median),
                "final_loss": Double(loss),
            ]
        }

        /// Forward and forward+backward times of the autoencoder's layer types at its shapes.
        private func layers(_ timer: Timer) throws -> [[String: Any]] {
            var generator = RandomGenerator(seed: 1)
            let n = batch
            func conv(_ c: Int, _ k: Int) -> Conv2d { Conv2d(inChannels: c, outChannels: k, kernelSize: 5, padding: 2, bias: false, generator: &generator) }
            func deconv(_ c: Int, _ k: Int) -> ConvTranspose2d {
                ConvTranspose2d(inChannels: c, outChannels: k, kernelSize: 5, padding: 2, bias: false, generator: &generator)
            }
            let cases: [(String, [Int], Layer)] = [
                ("conv 3->32 5x5 @32x32", [n, 3, 32, 32], conv(3, 32)),
                ("conv 32->64 5x5 @16x16", [n, 32, 16, 16], conv(32, 64)),
                ("conv 64->128 5x5 @8x8", [n, 64, 8, 8], conv(64, 128)),
                ("deconv 8->128 5x5 @4x4", [n, 8, 4, 4], deconv(8, 128)),
                ("deconv 128->64 5x5 @8x8", [n, 128, 8, 8], deconv(128, 64)),
                ("deconv 64->32 5x5 @16x16", [n, 64, 16, 16], deconv(64, 32)),
                ("deconv 32->3 5x5 @32x32", [n, 32, 32, 32], deconv(32, 3)),
                ("batchnorm2d 32 @32x32", [n, 32, 32, 32], BatchNorm.twoD(channels: 32, epsilon: 1e-4, affine: false)),
                ("leaky_relu 32 @32x32", [n, 32, 32, 32], LeakyReLU()),
                ("maxpool 2x2 32 @32x32", [n, 32, 32, 32], MaxPool2d(kernelSize: 2)),
                ("upsample x2 32 @16x16", [n, 32, 16, 16], UpsampleNearest2d(factor: 2)),
                ("linear 2048->128", [n, 2048], Linear(inFeatures: 2048, outFeatures: 128, bias: false, generator: &generator)),
            ]
            return try cases.map { name, shape, layer in
                let x = Tensor.uniform(shape: shape, in: -1...1, using: &generator)
                x.requiresGrad = true
                let forward = try timer.measure { _ = try withoutGradients { try layer(x) } }
                let both = try timer.measure {
                    let y = try layer(x)
                    try y.backward(seed: Tensor(repeating: 1, shape: y.shape))
                }
                return ["layer": name, "forward_ms": round1(1e3 * forward.best),
                        "forward_backward_ms": round1(1e3 * both.best)]
            }
        }
    }
}

/// The options every speed measurement shares: threads and how to time.
struct TimingOptions: ParsableArguments {
    @Option(help: "Threads for every backend.") var threads = 2
    @Option(help: "Timed samples; the best and the median are reported.") var samples = 5
    @Option(help: "Steps per timed sample.") var steps = 5
    @Option(help: "Untimed warm-up steps.") var warmup = 3
    @Flag(help: "Time by the process's CPU time instead of the wall clock. With --threads 1 it is not inflated when other processes share the cores; with more threads it counts every thread, waiting included.")
    var cpuTime = false

    func validate() throws {
        guard threads > 0, samples > 0, steps > 0, warmup >= 0 else {
            throw ValidationError("threads, samples and steps must be positive, the warm-up non-negative")
        }
    }

    var timer: Timer { Timer(samples: samples, steps: steps, warmup: warmup, cpuTime: cpuTime) }

    /// The clock the figures were read from, for the JSON: `wall` or `cpu`.
    var clock: String { cpuTime ? "cpu" : "wall" }
}

/// `--precision` of the convolutional speed measurements: what `mocca train --precision`
/// runs the 2-D convolutions in.
struct ConvolutionPrecisionOption: ParsableArguments {
    @Option(help: "Precision of the 2-D convolutions (and, without gradients, the fully connected layers): fp32, or bf16 on a CPU with AVX512-BF16 or AMX (bf16 operands, float32 accumulation; float32 master weights).")
    var precision: Precision = .fp32

    func validate() throws { try checkPrecision(precision) }

    /// `timer`'s measurement of `body`, every call (warm-up included) in this precision.
    func timed(_ timer: Timer, _ body: () throws -> Void) throws -> (best: Double, median: Double) {
        try ComputePrecision.run(in: precision) { try timer.measure(body) }
    }
}

/// The CIFAR-10 network with synthetic batches and centroids, as the phase measurements use it.
struct EncoderSpeedSetup {
    let model: CIFAR10LeNetAutoencoder
    let pool: [Tensor]
    let centroids: [Tensor]

    /// The centroids come from the first batch, computed in `precision` as MOCCA's fit does.
    init(batch: Int, training: Bool, precision: Precision = .fp32) throws {
        var generator = RandomGenerator(seed: 0)
        model = try CIFAR10LeNetAutoencoder(codeLength: 128, generator: &generator)
        pool = (0..<4).map { _ in Tensor.uniform(shape: [batch, 3, 32, 32], using: &generator) }
        model.train(training)
        let (model, first) = (model, pool[0])
        centroids = try ComputePrecision.run(in: precision) {
            try withoutGradients { try model.tapVectors(first, taps: model.tapNames).map { try $0.mean(alongAxes: [0]) } }
        }
    }

    /// The tap distances of batch `index` (cycling through the pool).
    func distances(_ index: Int) throws -> [Tensor] {
        try zip(model.tapVectors(pool[index % pool.count], taps: model.tapNames), centroids).map { try $0.squaredDistance(to: $1) }
    }

    /// Per tap, `count` synthetic standardised training representations `[count, D]`.
    func references(count: Int) -> [Tensor] {
        var generator = RandomGenerator(seed: 1)
        return centroids.map { Tensor.normal(shape: [count, $0.shape[0]], using: &generator) }
    }

    /// The nearest-neighbour tap distances of batch `index` against `references`.
    func neighborDistances(_ index: Int, references: [Tensor]) throws -> [Tensor] {
        try zip(model.tapVectors(pool[index % pool.count], taps: model.tapNames), references).map { try $0.nearestNeighborDistances(to: $1) }
    }
}

/// The one-class phase's training step: encoder, taps, hard loss, backward, Adam.
struct OneClass: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "one-class",
        abstract: "Training throughput of MOCCA's one-class phase on the CIFAR-10 encoder (all four taps).")

    @OptionGroup var timing: TimingOptions
    @OptionGroup var precision: ConvolutionPrecisionOption
    @Option(help: "Batch size (at least 2).") var batch = 128

    func validate() throws { guard batch > 1 else { throw ValidationError("--batch must be at least 2") } }

    func run() throws {
        Threads.count = timing.threads
        let setup = try EncoderSpeedSetup(batch: batch, training: true, precision: precision.precision)
        let optimizer = Adam(parameters: setup.model.oneClassParameters, learningRate: 1e-4, weightDecay: 0.5e-6)
        var index = 0
        let result = try precision.timed(timing.timer) {
            optimizer.zeroGradients()
            var loss = Tensor(0)
            for distance in try setup.distances(index) { loss = try loss + distance.mean() }
            index += 1
            try loss.backward()
            try optimizer.step()
        }
        try printJSON(["bench": "mocca_one_class", "threads": timing.threads, "clock": timing.clock, "batch": batch, "precision": precision.precision.rawValue,
                       "train_img_per_s_best": round1(Double(batch) / result.best),
                       "train_img_per_s_median": round1(Double(batch) / result.median)])
    }
}

/// Scoring: encoder forward in evaluation mode and the tap distances.
struct Scoring: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Scoring throughput (evaluation-mode encoder and tap distances) on the CIFAR-10 encoder.")

    @OptionGroup var timing: TimingOptions
    @OptionGroup var precision: ConvolutionPrecisionOption
    @Option(help: "Batch size.") var batch = 256
    @Option(help: "Score by the nearest of this many training representations per tap (--tap-score nearest-neighbor); 0 scores by centroid.")
    var references = 0
    @Flag(help: "Run the encoder unfused: every BatchNorm and activation as its own pass, the reference path.")
    var unfused = false

    func validate() throws {
        guard batch > 0 else { throw ValidationError("--batch must be positive") }
        guard references == 0 || references > 1 else { throw ValidationError("--references must be 0 or at least 2") }
    }

    func run() throws {
        Threads.count = timing.threads
        let setup = try EncoderSpeedSetup(batch: batch, training: false, precision: precision.precision)
        let referenceRows = setup.references(count: references)
        var index = 0
        var checksum: Float = 0
        let result = try InferenceFusion.$isEnabled.withValue(!unfused) {
            try precision.timed(timing.timer) {
                try withoutGradients {
                    let distances = references > 0 ? try setup.neighborDistances(index, references: referenceRows) : try setup.distances(index)
                    for distance in distances { checksum += distance.scalars[0] }
                    index += 1
                }
            }
        }
        try printJSON(["bench": "mocca_score", "threads": timing.threads, "clock": timing.clock, "batch": batch, "references": references, "fused": !unfused,
                       "precision": precision.precision.rawValue,
                       "infer_img_per_s_best": round1(Double(batch) / result.best),
                       "infer_img_per_s_median": round1(Double(batch) / result.median),
                       "checksum_finite": checksum.isFinite])
    }
}

/// Pre-training (phase 1) of the MVTec residual autoencoder (`mvtec-resnet`): forward,
/// reconstruction loss, backward and Adam on synthetic images, as
/// `scripts/bench/torch_mvtec_ae.py` measures it in PyTorch. A 128-pixel step is seconds
/// long, so ask for few samples (`--samples 2 --steps 1 --warmup 1`).
struct ResidualAutoencoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mvtec-ae",
        abstract: "Training throughput of phase 1 (reconstruction) on the MVTec residual autoencoder.")

    @OptionGroup var timing: TimingOptions
    @OptionGroup var precision: ConvolutionPrecisionOption
    @Option(help: "Batch size (at least 2).") var batch = 128
    @Option(help: "Image side (a multiple of 8, at least 16).") var imageSize = 128
    @Option(help: "Image channels (1 or 3).") var channels = 3

    func validate() throws { guard batch > 1 else { throw ValidationError("--batch must be at least 2") } }

    func run() throws {
        Threads.count = timing.threads
        var configuration = ResidualInspectionConfiguration()
        configuration.imageSize = imageSize
        configuration.channels = channels
        var generator = RandomGenerator(seed: 0)
        let model = try ResidualInspectionAutoencoder(configuration, generator: &generator)
        let optimizer = Adam(parameters: model.parameters(), learningRate: 1e-4, weightDecay: 0.5e-6)
        let pool = (0..<2).map { _ in Tensor.uniform(shape: [batch, channels, imageSize, imageSize], using: &generator) }
        var index = 0
        var loss: Float = 0
        model.train()
        let result = try precision.timed(timing.timer) {
            optimizer.zeroGradients()
            let objective = try model.reconstructionLoss(pool[index % pool.count])
            index += 1
            try objective.backward()
            try optimizer.step()
            loss = objective.item
        }
        try printJSON(["bench": "mocca_mvtec_ae", "threads": timing.threads, "clock": timing.clock, "batch": batch, "image_size": imageSize,
                       "precision": precision.precision.rawValue,
                       "channels": channels, "params": model.parameters().reduce(0) { $0 + $1.count },
                       "train_img_per_s_best": round1(Double(batch) / result.best),
                       "train_img_per_s_median": round1(Double(batch) / result.median),
                       "train_step_ms_min": round1(1e3 * result.best), "train_step_ms_median": round1(1e3 * result.median),
                       "final_loss": Double(loss)])
    }
}

/// Pre-training (phase 1) of the video autoencoder (`video-c3d`): forward, reconstruction
/// loss, backward and Adam on synthetic clips, as `scripts/bench/torch_video_ae.py` measures it
/// in PyTorch. The default is the network's default clip, 1×16×64×96, at batch 8.
struct VideoAutoencoderSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "video-ae",
        abstract: "Training throughput of phase 1 (reconstruction) on the video autoencoder (video-c3d).")

    @OptionGroup var timing: TimingOptions
    @Option(help: "Batch size (at least 2).") var batch = 8
    @Option(help: "Frames per clip (a multiple of 4).") var clipLength = 16
    @Option(help: "Frame height (a multiple of 32).") var height = 64
    @Option(help: "Frame width (a multiple of 32).") var width = 96
    @Option(help: "Frame channels (1 or 3).") var channels = 1
    @OptionGroup var precision: ConvolutionPrecisionOption

    func validate() throws {
        guard batch > 1 else { throw ValidationError("--batch must be at least 2") }
        try precision.validate()
    }

    func run() throws {
        Threads.count = timing.threads
        var configuration = VideoAutoencoderConfiguration()
        (configuration.channels, configuration.clipLength) = (channels, clipLength)
        (configuration.height, configuration.width) = (height, width)
        var generator = RandomGenerator(seed: 0)
        let model = try VideoAutoencoder(configuration, generator: &generator)
        // Phase 1 trains the autoencoder; the LSTM tap heads wait for the one-class phase.
        let parameters = model.encoderLayers.parameters() + model.decoderLayers.parameters()
        let optimizer = Adam(parameters: parameters, learningRate: 1e-4, weightDecay: 0.5e-6)
        let pool = (0..<2).map { _ in Tensor.uniform(shape: [batch, channels, clipLength, height, width], using: &generator) }
        var index = 0
        var loss: Float = 0
        model.train()
        let result = try precision.timed(timing.timer) {
            optimizer.zeroGradients()
            let objective = try model.reconstructionLoss(pool[index % pool.count])
            index += 1
            try objective.backward()
            try optimizer.step()
            loss = objective.item
        }
        try printJSON(["bench": "mocca_video_ae", "threads": timing.threads, "clock": timing.clock, "batch": batch, "clip_length": clipLength,
                       "height": height, "width": width, "channels": channels, "precision": precision.precision.rawValue,
                       "params": parameters.reduce(0) { $0 + $1.count },
                       "train_clip_per_s_best": round1(Double(batch) / result.best),
                       "train_clip_per_s_median": round1(Double(batch) / result.median),
                       "train_step_ms_min": round1(1e3 * result.best), "train_step_ms_median": round1(1e3 * result.median),
                       "final_loss": Double(loss)])
    }
}

/// Prints a measurement as one line of JSON, with the host it ran on under `host` (CPU
/// model, oneDNN's effective ISA, bfloat16), so that every figure names its machine.
func printJSON(_ object: [String: Any]) throws {
    var object = object
    object["host"] = ComputeHost.record
    let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: json, as: UTF8.self))
}

/// Times a closure: untimed warm-up calls, then `samples` timings of `steps` calls each.
struct Timer {
    let samples: Int, steps: Int, warmup: Int
    /// Whether to read the process's CPU time rather than the wall clock.
    var cpuTime = false

    /// Seconds per call: the best sample and the median sample.
    func measure(_ body: () throws -> Void) throws -> (best: Double, median: Double) {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        for _ in 0..<samples {
            let start = now()
            for _ in 0..<steps { try body() }
            times.append(Double(now() - start) / 1e9 / Double(steps))
        }
        times.sort()
        return (times[0], times[times.count / 2])
    }

    /// Nanoseconds on the chosen clock.
    private func now() -> UInt64 {
        guard cpuTime else { return DispatchTime.now().uptimeNanoseconds }
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

func round1(_ value: Double) -> Double { (value * 10).rounded() / 10 }

