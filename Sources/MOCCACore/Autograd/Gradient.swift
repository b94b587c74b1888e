import CDNNL

/// What a backward function hands to one input: a gradient of the input's shape, or one
/// that is the same at every spatial position, kept as its `[N, C]` values.
///
/// Global average pooling's gradient is `g[n, c] / (H·W)` at every position of the map. A
/// network tap pools a convolution's output whose other consumer is the next layer, so that
/// map receives two gradients. Written out in full, the pooling's costs a pass over the map
/// and the sum reads it again; kept as values, it is added in the sum's own pass, and only
/// written out where nothing else meets it.
enum Gradient {
    case dense(Tensor)
    case spatiallyUniform(SpatiallyUniformGradient)

    /// The gradient as a tensor of the input's shape.
    func tensor() throws -> Tensor {
        switch self {
        case .dense(let tensor): tensor
        case .spatiallyUniform(let uniform): try uniform.materialized()
        }
    }

    /// The sum of two gradients of the same input, `self + other` element by element.
    func adding(_ other: Gradient) throws -> Gradient {
        switch (self, other) {
        case (.dense(let a), .dense(let b)): .dense(try a.accumulating(b))
        case (.dense(let dense), .spatiallyUniform(let uniform)), (.spatiallyUniform(let uniform), .dense(let dense)):
            .dense(try uniform.added(to: dense))
        case (.spatiallyUniform(let a), .spatiallyUniform(let b)): .spatiallyUniform(try a.adding(b))
        }
    }
}

/// A gradient of shape `[N, C, spatial...]` whose value depends only on the sample and the
/// channel: `values[n·C + c]` everywhere in map `(n, c)`.
struct SpatiallyUniformGradient {
    /// Row-major `[N, C]`.
    let values: [Float]
    /// The input's shape, `[N, C, spatial...]`.
    let shape: [Int]
    /// The input's layout, in which a gradient written out alone is written.
    let descriptor: MemoryDescriptor?

    /// The layouts written directly; others go through the plain one and a reorder.
    private enum Layout {
        case plain, channelsLast
        /// oneDNN's `aBcd8b`/`aBcd16b`: channel blocks of 8 or 16, padded with zeros.
        case channelBlocked(Int)

        init?(_ descriptor: MemoryDescriptor?, shape: [Int]) {
            guard let descriptor, descriptor != MemoryDescriptor(plain: shape) else { self = .plain; return }
            guard shape.count == 4 else { return nil }
            if descriptor == MemoryDescriptor(shape: shape, tag: dnnl_acdb) { self = .channelsLast; return }
            guard let block = descriptor.channelBlock else { return nil }
            self = .channelBlocked(block)
        }
    }

    /// The values of `gradient` `[N, C]` (any layout) spread over `shape` `[N, C, ...]`,
    /// each divided by `divisor` (the pooled positions).
    init(spreading gradient: Tensor, dividedBy divisor: Int, over shape: [Int], descriptor: MemoryDescriptor?) throws {
        let scale = Float(divisor)
        values = try gradient.plain().scalars.map { $0 / scale }
        self.shape = shape
        self.descriptor = descriptor
    }

    private init(values: [Float], shape: [Int], descriptor: MemoryDescriptor?) {
        (self.values, self.shape, self.descriptor) = (values, shape, descriptor)
    }

    /// The sum of two such gradients of the same input.
    func adding(_ other: SpatiallyUniformGradient) throws -> SpatiallyUniformGradient {
        guard other.shape == shape else {
            throw TensorError.shapeMismatch(op: "backward", message: "gradients \(shape) and \(other.shape) for one input")
        }
        return SpatiallyUniformGradient(values: zip(values, other.values).map { $0 + $1 }, shape: shape, descriptor: descriptor)
    }

    /// The gradient written out in the input's layout.
    func materialized() throws -> Tensor {
        if let layout = Layout(descriptor, shape: shape) {
            let out = Tensor(uninitializedShape: shape, descriptor: descriptor)
            spread(into: out, adding: nil, layout: layout)
            return out
        }
        let plain = Tensor(uninitializedShape: shape)
        spread(into: plain, adding: nil, layout: .plain)
        return try DNNL.reorder(plain, to: descriptor ?? MemoryDescriptor(plain: shape))
    }

    /// `dense + self`, in `dense`'s layout, in one pass where the layout allows it.
    func added(to dense: Tensor) throws -> Tensor {
        guard dense.shape == shape else {
            throw TensorError.shapeMismatch(op: "backward", message: "gradients \(shape) and \(dense.shape) for one input")
        }
        guard let layout = Layout(dense.descriptor, shape: shape) else { return try dense.accumulating(materialized()) }
        let out = Tensor(uninitializedShape: shape, descriptor: dense.descriptor)
        withExtendedLifetime(dense) { spread(into: out, adding: dense, layout: layout) }
        return out
    }

    /// Writes `base + value` (or the value alone) at every element of `out`, which has
    /// `layout`; `base` has the same layout. In parallel over maps: plain layouts run
    /// one `(n, c)` map per unit, channel-blocked ones a block of channels, channels-last
    /// one sample.
    private func spread(into out: Tensor, adding base: Tensor?, layout: Layout) {
        let (samples, channels) = (shape[0], shape[1])
        let positions = shape.dropFirst(2).reduce(1, *)
        let dst = out.floatPointer, src = base?.floatPointer
        values.withUnsafeBufferPointer { values in
            switch layout {
            case .plain:
                Self.forEachUnit(samples * channels, elements: positions) { map in
                    Self.fill(dst + map * positions, from: src.map { $0 + map * positions }, count: positions) { _ in values[map] }
                }
            case .channelsLast:
                Self.forEachUnit(samples, elements: positions * channels) { n in
                    for position in 0..<positions {
                        let offset = (n * positions + position) * channels
                        Self.fill(dst + offset, from: src.map { $0 + offset }, count: channels) { values[n * channels + $0] }
                    }
                }
            case .channelBlocked(let block):
                let blocks = (channels + block - 1) / block
                Self.forEachUnit(samples * blocks, elements: positions * block) { unit in
                    let (n, first) = (unit / blocks, unit % blocks * block)
                    withUnsafeTemporaryAllocation(of: Float.self, capacity: block) { lanes in
                        // Padding channels stay zero: their value is 0.
                        lanes.initialize(repeating: 0)
                        for lane in 0..<min(block, channels - first) { lanes[lane] = values[n * channels + first + lane] }
                        for position in 0..<positions {
                            let offset = (unit * positions + position) * block
                            Self.fill(dst + offset, from: src.map { $0 + offset }, count: block) { lanes[$0] }
                        }
                    }
                }
            }
        }
    }

    /// `dst[i] = src[i] + value(i)`, or `value(i)` without `src`, for `i < count`.
    @inline(__always)
    private static func fill(_ dst: UnsafeMutablePointer<Float>, from src: UnsafeMutablePointer<Float>?, count: Int, _ value: (Int) -> Float) {
        if let src {
            for i in 0..<count { dst[i] = src[i] + value(i) }
        } else {
            for i in 0..<count { dst[i] = value(i) }
        }
    }

    /// Runs `body` over `units` units of `elements` elements each, in parallel when there
    /// are enough elements to share.
    private static func forEachUnit(_ units: Int, elements: Int, _ body: (Int) -> Void) {
        Threads.parallelFor(units, minimumPerThread: max(1, 16_384 / max(1, elements))) { range in
            for unit in range { body(unit) }
        }
    }
}
