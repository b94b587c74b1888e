import MOCCA
import MOCCACore
import Testing

/// The official MVTec AD code keeps each phase's lowest-loss epoch.
@Suite("Lowest-loss epoch")
struct LowestLossEpochTests {
    @Test func thePhaseEndsWithTheNetworkOfItsLowestLossEpoch() throws {
        var configuration = DetectorTests.configuration(seed: 3, epochs: 4)
        configuration.autoencoderLearningRate = 0.01
        configuration.weightDecay = 200  // pulls the weights to zero: the loss falls, then rises
        configuration.keepsLowestLossEpoch = true
        let kept = try MOCCADetector(configuration: configuration)
        var epochLosses: [Int: Float] = [:]
        try kept.pretrain(normal: DetectorTests.train) { progress in epochLosses[progress.epoch] = progress.loss }
        let (bestEpoch, bestLoss) = try #require(epochLosses.min { $0.value < $1.value })
        // The schedule is chosen so that the loss rises in the last epoch (measured: 122, 24, 12.5, 14.7).
        #expect(bestEpoch < 4)

        // The same seed trained for exactly that many epochs ends with the same network.
        var shorter = configuration
        shorter.keepsLowestLossEpoch = false
        shorter.autoencoderEpochs = bestEpoch
        let reference = try MOCCADetector(configuration: shorter)
        try reference.pretrain(normal: DetectorTests.train)
        let a = kept.network.stateDictionary(), b = reference.network.stateDictionary()
        #expect(a.keys.sorted() == b.keys.sorted())
        for key in a.keys { #expect(a[key]?.scalars == b[key]?.scalars, "\(key)") }
        _ = bestLoss
    }
}
