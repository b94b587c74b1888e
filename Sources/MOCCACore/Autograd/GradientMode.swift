/// Whether ops record the autograd graph.
///
/// In evaluation (``withoutGradients(_:)``) no op records a backward function and no
/// gradient is allocated, so inference is as lean as the forward pass itself. The mode
/// is task-local: concurrent tasks each have their own.
public enum GradientMode {
    @TaskLocal static var isEnabled = true

    /// Whether ops record the graph now: false inside ``withoutGradients(_:)``. Layers read
    /// it to choose inference-only kernels, which have no backward pass.
    public static var isRecording: Bool { isEnabled }
}

/// Runs `body` without recording the autograd graph.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$isEnabled.withValue(false) { try body() }
}
