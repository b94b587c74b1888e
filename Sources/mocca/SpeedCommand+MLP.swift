import ArgumentParser
import Foundation
import MOCCACore
import MOCCAModels
import MOCCANN

/// `mocca speed mlp`: the vector autoencoder (`mlp`) shaped like PyOD's DeepSVDD default
/// (`d → 64 → 32`, no BatchNorm) on synthetic rows, timed over full epochs as
/// `scripts/bench/pyod_deepsvdd_speed.py` times PyOD's DeepSVDD and a plain PyTorch twin:
///
/// - one-class training: the Deep SVDD objective, the batch mean of the code's squared
///   distance to a fixed centre `c`, on the encoder, backward, Adam (lr 1e-4, L2 weight decay
///   0.5e-6 added to the gradient, as PyTorch's `Adam(weight_decay=)` and PyOD use);
/// - scoring: the code's squared distance to `c` for every row in evaluation mode, in batches
///   of `--score-batch` and of `--batch`;
/// - autoencoder training: the reconstruction loss (batch mean of per-row squared error) on
///   the whole network, backward, Adam.
///
/// One timed step is one epoch over `--rows` rows in consecutive batches of `--batch` (the
/// last one shorter), so `--samples 3 --steps 1 --warmup 1` is a sensible setting.
struct MLPSpeed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp",
        abstract: "Deep SVDD training, scoring and autoencoder training throughput (rows/s) of the MLP autoencoder.")

    @OptionGroup var timing: TimingOptions
    @Option(help: "Features per row.") var features = 32
    @Option(help: "Synthetic rows (uniform in [-1, 1], seeded).") var rows = 10_000
    @Option(help: "Training batch size (PyOD's default 32).") var batch = 32
    @Option(help: "Scoring batch size.") var scoreBatch = 1024
    @Option(help: "Hidden widths, comma-separated.") var hidden = "64"
    @Option(help: "Code length.") var code = 32
    @Option(help: "Scoring precision: fp32, or bf16 where the CPU has it (AVX512-BF16, AMX).") var precision: Precision = .fp32

    var hiddenSizes: [Int] { hidden.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard features > 0, code > 0 else { throw ValidationError("--features and --code must be positive") }
        guard batch > 0, scoreBatch > 0, rows >= batch else { throw ValidationError("--batch and --score-batch must be positive, --rows at least --batch") }
        guard !hiddenSizes.isEmpty, hiddenSizes.count == hidden.split(separator: ",").count, hiddenSizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--hidden must be positive widths separated by commas, got '\(hidden)'")
        }
    }

    /// A fresh network (the same weights for every measurement).
    func makeModel() throws -> MLPAutoencoder {
        var configuration = MLPAutoencoderConfiguration()
        configuration.inputFeatures = features
        configuration.hiddenSizes = hiddenSizes
        configuration.codeLength = code
        try configuration.validate()
        var generator = RandomGenerator(seed: 0)
        return MLPAutoencoder(configuration, generator: &generator)
    }

    /// `data` in consecutive batches of `size` rows (views: no copy), the last one shorter.
    static func batches(_ data: Tensor, size: Int) throws -> [Tensor] {
        let n = data.shape[0]
        return try stride(from: 0, to: n, by: size).map { try data.slice(alongAxis: 0, $0..<min($0 + size, n)) }
    }

    func run() throws {
        Threads.count = timing.threads
        let timer = timing.timer
        var generator = RandomGenerator(seed: 1)
        let data = Tensor.uniform(shape: [rows, features], in: -1...1, using: &generator)
        let training = try Self.batches(data, size: batch)
        let scoring = try Self.batches(data, size: scoreBatch)

        // The centre: the mean code of the first rows at initialisation, each coordinate at
        // least 0.1 from zero (Deep SVDD's and PyOD's rule), then fixed.
        let oneClass = try makeModel()
        oneClass.eval()
        let centre = try withoutGradients { () -> Tensor in
            let mean = try oneClass.encode(scoring[0], includingCode: true).code!.mean(alongAxes: [0])
            let values = mean.scalars.map { abs($0) < 0.1 ? ($0 < 0 ? -0.1 : 0.1) : $0 }
            return try Tensor(shape: [code], scalars: values)
        }

        // (a) One-class training of the encoder.
        oneClass.train()
        let oneClassOptimizer = Adam(parameters: oneClass.oneClassParameters, learningRate: 1e-4, weightDecay: 0.5e-6)
        var oneClassLoss: Float = 0
        let train = try timer.measure {
            for x in training {
                oneClassOptimizer.zeroGradients()
                let z = try oneClass.encode(x, includingCode: true).code!
                let objective = try z.squaredDistance(to: centre).mean()
                try objective.backward()
                try oneClassOptimizer.step()
                oneClassLoss = objective.item
            }
        }

        // (b) Scoring: evaluation mode, no graph, distances of every row.
        oneClass.eval()
        var checksum: Float = 0
        func scoreAll(_ batches: [Tensor]) throws {
            try ComputePrecision.run(in: precision) { try withoutGradients {
                for x in batches {
                    let scores = try oneClass.encode(x, includingCode: true).code!.squaredDistance(to: centre)
                    checksum += scores.scalars[0]
                }
            } }
        }
        let score = try timer.measure { try scoreAll(scoring) }
        let scoreSmall = try timer.measure { try scoreAll(training) }

        // (c) Autoencoder training (phase 1): reconstruction loss on the whole network.
        let autoencoder = try makeModel()
        autoencoder.train()
        let aeOptimizer = Adam(parameters: autoencoder.parameters(), learningRate: 1e-4, weightDecay: 0.5e-6)
        var aeLoss: Float = 0
        let ae = try timer.measure {
            for x in training {
                aeOptimizer.zeroGradients()
                let objective = try autoencoder.reconstructionLoss(x)
                try objective.backward()
                try aeOptimizer.step()
                aeLoss = objective.item
            }
        }

        let n = Double(rows)
        let steps = Double(training.count)
        try printJSON([
            "bench": "mocca_mlp", "threads": timing.threads, "clock": timing.clock, "rows": rows, "features": features,
            "hidden": hiddenSizes, "code": code, "precision": precision.rawValue, "batch": batch, "score_batch": scoreBatch,
            "samples": timing.samples, "epochs_per_sample": timing.steps, "warmup_epochs": timing.warmup,
            "encoder_params": oneClass.oneClassParameters.reduce(0) { $0 + $1.count },
            "params": autoencoder.parameters().reduce(0) { $0 + $1.count },
            "train_rows_per_s_best": round1(n / train.best), "train_rows_per_s_median": round1(n / train.median),
            "train_step_us_min": round1(1e6 * train.best / steps),
            "score_rows_per_s_best": round1(n / score.best), "score_rows_per_s_median": round1(n / score.median),
            "score_batch_small_rows_per_s_best": round1(n / scoreSmall.best),
            "score_batch_small_rows_per_s_median": round1(n / scoreSmall.median),
            "ae_train_rows_per_s_best": round1(n / ae.best), "ae_train_rows_per_s_median": round1(n / ae.median),
            "ae_train_step_us_min": round1(1e6 * ae.best / steps),
            "final_one_class_loss": Double(oneClassLoss), "final_ae_loss": Double(aeLoss),
            "checksum_finite": checksum.isFinite,
        ])
    }
}
