/// A snapshot of training, reported after every batch.
public struct TrainingProgress: Sendable {
    /// `autoencoder` (phase 1) or `one-class` (phase 2).
    public var phase: String
    /// 1-based epoch and batch within it.
    public var epoch: Int, epochs: Int, batch: Int, batches: Int
    /// The mean loss over the epoch so far.
    public var loss: Float
    /// Training throughput over the epoch so far.
    public var imagesPerSecond: Double
    /// Estimated seconds left in this phase.
    public var secondsRemaining: Double
}
