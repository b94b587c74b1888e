import Foundation
import MOCCACore
import MOCCAData
import MOCCANN

extension MOCCADetector {
    /// A phase's epoch mean loss above this multiple of its first batch's loss means the
    /// phase diverged: a healthy phase lowers its loss from where it started.
    static let lossDivergenceFactor: Float = 100
    /// The trained weights' L2 norm above this multiple of its value at the start of the
    /// phase means the phase diverged. The autoencoder's loss is bounded (its output is a
    /// sigmoid), so a runaway learning rate shows in the weights first: at `--ae-lr 1e6`
    /// they grow by about 1e6 in one step, while a healthy phase changes their norm by a
    /// small factor.
    static let weightDivergenceFactor: Double = 1000

    /// The L2 norm of all of `parameters` together.
    static func norm(_ parameters: [Tensor]) -> Double {
        parameters.reduce(0.0) { total, p in total + p.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } }.squareRoot()
    }

    /// Why the phase counts as diverged after an epoch, or nil.
    static func divergence(loss: Float, firstLoss: Float?, norm: Double, startNorm: Double) -> String? {
        if let firstLoss, firstLoss > 0, loss > lossDivergenceFactor * firstLoss {
            return "its mean loss is \(loss), over \(Int(lossDivergenceFactor))x its first batch's \(firstLoss)"
        }
        if startNorm > 0, !(norm <= weightDivergenceFactor * startNorm) {
            return "the norm of its weights grew from \(Float(startNorm)) to \(Float(norm)), over \(Int(weightDivergenceFactor))x"
        }
        return nil
    }

    /// Runs one training phase and returns its last epoch's mean loss, or with
    /// ``MOCCAConfiguration/keepsLowestLossEpoch`` the lowest epoch mean loss, the network
    /// (weights and BatchNorm statistics) restored to the end of that epoch; `restore`
    /// is called with that epoch's index so that the caller can restore its own state.
    /// Every step runs in ``MOCCAConfiguration/precision``.
    /// - Throws: ``MOCCACore/TensorError/invalidArgument(op:message:)`` for bf16 on a CPU
    ///   without native bf16, before the first step.
    func trainPhase(
        _ phase: String, epochs: Int, parameters: [Tensor], learningRate: Float, milestones: [Int],
        samples: any SampleSource, sampler: inout BatchSampler, progress: ((TrainingProgress) -> Void)?,
        objective: (Tensor, Int) throws -> Tensor, afterStep: (Int) -> Void = { _ in },
        restore: (Int) -> Void = { _ in }
    ) throws -> Float {
        guard epochs > 0 else { return .nan }
        return try ComputePrecision.run(in: configuration.precision) {
            try trainEpochs(phase, epochs: epochs, parameters: parameters, learningRate: learningRate, milestones: milestones,
                            samples: samples, sampler: &sampler, progress: progress, objective: objective,
                            afterStep: afterStep, restore: restore)
        }
    }

    /// ``trainPhase(_:epochs:parameters:learningRate:milestones:samples:sampler:progress:objective:afterStep:restore:)``'s
    /// epochs, in the precision the caller set.
    private func trainEpochs(
        _ phase: String, epochs: Int, parameters: [Tensor], learningRate: Float, milestones: [Int],
        samples: any SampleSource, sampler: inout BatchSampler, progress: ((TrainingProgress) -> Void)?,
        objective: (Tensor, Int) throws -> Tensor, afterStep: (Int) -> Void, restore: (Int) -> Void
    ) throws -> Float {
        // The next phase (scoring at another batch size) reuses none of these buffers.
        defer { Tensor.releaseCachedBuffers() }
        network.train()
        let optimizer = Adam(parameters: parameters, learningRate: learningRate, weightDecay: configuration.weightDecay)
        let schedule = MultiStepLR(optimizer: optimizer, milestones: milestones)
        let phaseStart = Date()
        var lastLoss: Float = .nan
        var firstLoss: Float?
        let startNorm = Self.norm(parameters)
        var imagesSeen = 0
        // The lowest-loss epoch so far, with a copy of the network as it ended.
        var best: (epoch: Int, loss: Float, state: [String: Tensor])?
        for epoch in 0..<epochs {
            // BatchNorm cannot train on a single sample: drop a last batch of one.
            let batches = sampler.nextEpoch().filter { $0.count >= 2 }
            var total: Double = 0
            let drawn = (samples as? EpochDrawnSource)?.drawn(forEpoch: epoch) ?? samples
            for (index, loaded) in BatchLoader(drawn, batches: batches).enumerated() {
                let batch = try checkedBatch(loaded, drawn)
                optimizer.zeroGradients()
                let loss = try objective(batch, epoch)
                let value = loss.item
                guard value.isFinite else { throw MOCCAError.nonFiniteLoss(phase: phase, epoch: epoch + 1, batch: index + 1) }
                if firstLoss == nil { firstLoss = value }
                try loss.backward()
                try optimizer.step()
                afterStep(epoch)
                total += Double(value)
                imagesSeen += loaded.indices.count
                if let progress {
                    let elapsed = Date().timeIntervalSince(phaseStart)
                    let rate = Double(imagesSeen) / max(elapsed, 1e-9)
                    let remaining = Double((epochs - epoch) * sampler.count - (index + 1) * configuration.batchSize)
                    progress(TrainingProgress(
                        phase: phase, epoch: epoch + 1, epochs: epochs, batch: index + 1, batches: batches.count,
                        loss: Float(total / Double(index + 1)), imagesPerSecond: rate,
                        secondsRemaining: max(0, remaining) / max(rate, 1e-9)))
                }
            }
            lastLoss = Float(total / Double(max(batches.count, 1)))
            if stopsOnDivergence, let reason = Self.divergence(loss: lastLoss, firstLoss: firstLoss, norm: Self.norm(parameters), startNorm: startNorm) {
                throw MOCCAError.diverged(phase: phase, epoch: epoch + 1, reason: reason)
            }
            if configuration.keepsLowestLossEpoch, lastLoss < best?.loss ?? .infinity {
                best = (epoch, lastLoss, try network.stateDictionary().mapValues { try Tensor(shape: $0.shape, scalars: $0.scalars) })
            }
            schedule.step()
        }
        if let best, best.epoch != epochs - 1 {
            try network.load(best.state)
            restore(best.epoch)
            return best.loss
        }
        return lastLoss
    }

    /// The batch a loader delivered, checked: loaded, of finite values.
    func checkedBatch(_ loaded: (indices: [Int], batch: Result<Tensor, Error>), _ samples: any SampleSource) throws -> Tensor {
        let batch = try loaded.batch.get()
        guard batch.isFinite else {
            let bad = loaded.indices.first { index in (try? samples.batch([index]).isFinite) == false } ?? loaded.indices[0]
            throw MOCCAError.invalidData("\(samples.origin(of: bad)) holds NaN or infinite values")
        }
        return batch
    }
}
