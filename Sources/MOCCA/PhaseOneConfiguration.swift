extension MOCCAConfiguration {
    /// This configuration as phase 1 (the autoencoder) sees it: every option that only the
    /// one-class phase or scoring reads is reset to the value of `MOCCAConfiguration()`,
    /// and the network's specification is normalised (every field of its configuration
    /// spelled out), so that two configurations that pretrain the same autoencoder from
    /// the same seed compare and encode equal.
    ///
    /// The reset list names the phase-2 options, not the phase-1 ones, on purpose: an
    /// option added later is kept by default, so that it tells pretrained autoencoders
    /// apart until someone shows it belongs to phase 2 only. Keeping a phase-2 option by
    /// mistake costs a needless pretraining; dropping a phase-1 option would reuse an
    /// autoencoder trained differently. Reset here (read by ``MOCCADetector/fitOneClass(normal:progress:)``
    /// and scoring only): taps, boundary, ν, warm-up epochs, the one-class epochs,
    /// learning rate and milestones, fusion, the reconstruction channel, the tap score and
    /// its neighbours and reference limit, and the end-to-end schedule. Kept: the network, the autoencoder's epochs, learning rate and
    /// milestones, weight decay, batch size, seed, and anything added after them.
    public var phaseOneConfiguration: MOCCAConfiguration {
        let fixed = MOCCAConfiguration()
        var c = self
        c.taps = fixed.taps
        c.boundary = fixed.boundary
        c.nu = fixed.nu
        c.warmUpEpochs = fixed.warmUpEpochs
        c.oneClassEpochs = fixed.oneClassEpochs
        c.oneClassLearningRate = fixed.oneClassLearningRate
        c.oneClassMilestones = fixed.oneClassMilestones
        c.fusion = fixed.fusion
        c.reconstructionChannel = fixed.reconstructionChannel
        c.tapScore = fixed.tapScore
        c.neighbors = fixed.neighbors
        c.referenceLimit = fixed.referenceLimit
        c.trainsEndToEnd = fixed.trainsEndToEnd
        // A network that does not resolve stays as given: it cannot be pretrained anyway,
        // and its key must still differ from every valid one.
        if let normalised = try? network.resolved().specification { c.network = normalised }
        return c
    }
}
