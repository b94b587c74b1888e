/// A float32 tensor: a shape, a view of aligned storage, and its place in the autograd graph.
///
/// At the API every tensor is logically row-major (`NCHW` for images). Internally a
/// tensor produced by a oneDNN kernel may keep that kernel's blocked layout (for
/// example `nChw16c`), so that consecutive oneDNN ops pass data without reorders;
/// ``scalars`` and every op written in Swift see the plain row-major values.
///
/// A tensor is a reference type because the autograd graph refers to tensors by
/// identity; its values are never mutated by ops (only optimisers update parameters
/// in place, through ``withUnsafeMutableBufferPointer(_:)``).
public final class Tensor {
    /// The logical dimensions, outermost first.
    public let shape: [Int]
    /// The number of elements, the product of ``shape``.
    public let count: Int
    let storage: TensorStorage
    /// Offset of this view into ``storage``, in elements (plain layouts only).
    let offset: Int
    /// The physical layout when it is not plain row-major.
    let descriptor: MemoryDescriptor?

    /// Whether gradients flow to this tensor. Set it on leaves (parameters, inputs);
    /// the outputs of ops inherit it from their inputs.
    public var requiresGrad: Bool
    /// The accumulated gradient of a leaf after ``backward(seed:)``, in plain layout.
    public var grad: Tensor?
    /// The op that produced this tensor and how to propagate gradients through it.
    var gradientFunction: GradientFunction?

    init(shape: [Int], storage: TensorStorage, offset: Int = 0, descriptor: MemoryDescriptor? = nil) {
        self.shape = shape
        self.count = shape.reduce(1, *)
        self.storage = storage
        self.offset = offset
        self.descriptor = descriptor
        self.requiresGrad = false
    }

    /// A tensor in plain layout, or in `descriptor`'s, whose values the caller will write
    /// in full. Only the padding of a blocked layout (channels rounded up to the block)
    /// is zeroed, since oneDNN's kernels read it as zeros.
    convenience init(uninitializedShape shape: [Int], descriptor: MemoryDescriptor? = nil) {
        let count = shape.reduce(1, *)
        let bytes = descriptor?.byteCount ?? count * MemoryLayout<Float>.stride
        // Asked of the layout too, not only inferred from the size: a padded bf16 tensor
        // can take fewer bytes than its float32 values would.
        let padded = descriptor?.isPadded == true || bytes > count * MemoryLayout<Float>.stride
        self.init(shape: shape, storage: TensorStorage(byteCount: bytes, zeroed: padded), descriptor: descriptor)
    }

    /// A tensor of zeros.
    public convenience init(zeros shape: [Int]) {
        let count = shape.reduce(1, *)
        self.init(shape: shape, storage: TensorStorage(byteCount: count * MemoryLayout<Float>.stride, zeroed: true))
    }

    /// A tensor whose every element is `value`.
    public convenience init(repeating value: Float, shape: [Int]) {
        self.init(zeros: shape)
        if value != 0 { storage.floats.update(repeating: value, count: count) }
    }

    /// A tensor holding `scalars` in row-major order.
    /// - Throws: ``TensorError/shapeMismatch(op:message:)`` when the counts differ, or
    ///   ``TensorError/invalidArgument(op:message:)`` for a negative dimension.
    public convenience init(shape: [Int], scalars: [Float]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else {
            throw TensorError.invalidArgument(op: "Tensor(shape:scalars:)", message: "negative dimension in \(shape)")
        }
        let count = shape.reduce(1, *)
        guard count == scalars.count else {
            throw TensorError.shapeMismatch(
                op: "Tensor(shape:scalars:)",
                message: "shape \(shape) holds \(count) elements but \(scalars.count) scalars were given")
        }
        self.init(uninitializedShape: shape)
        scalars.withUnsafeBufferPointer { storage.floats.update(from: $0.baseAddress!, count: count) }
    }

    /// A one-element tensor of shape `[]`.
    public convenience init(_ value: Float) {
        self.init(repeating: value, shape: [])
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// Whether the data is laid out plain row-major, so Swift code can index it directly.
    public var isPlain: Bool { descriptor == nil }

    /// The values in row-major order.
    ///
    /// A blocked tensor is reordered to plain first. That reorder fails only when oneDNN
    /// cannot allocate its scratch memory; reading the blocked bytes instead would return
    /// silently wrong values, so the failure stops the program, as running out of memory
    /// for the array itself would.
    public var scalars: [Float] {
        let source: Tensor
        do { source = try plain() } catch { fatalError("Tensor.scalars: reordering \(shape) to plain layout failed: \(error)") }
        return withExtendedLifetime(source) { Array(UnsafeBufferPointer(start: source.floatPointer, count: count)) }
    }

    /// The single value of a one-element tensor.
    public var item: Float {
        precondition(count == 1, "item needs a one-element tensor, got shape \(shape)")
        return scalars[0]
    }

    /// This tensor in plain row-major layout (itself when it already is).
    ///
    /// A reordered copy is not part of the autograd graph: gradients stop there. Ops take
    /// any layout and record their own inputs, so differentiable code never needs this;
    /// it is for reading values out.
    public func plain() throws -> Tensor {
        guard let descriptor, rank > 0 else { return self }
        let target = MemoryDescriptor(plain: shape)
        if descriptor == target {
            return Tensor(shape: shape, storage: storage, offset: offset)
        }
        let reordered = try DNNL.reorder(self, to: target)
        return Tensor(shape: shape, storage: reordered.storage, offset: reordered.offset)
    }

    /// A new leaf tensor sharing no storage with this one, detached from the graph.
    public func copy() throws -> Tensor {
        let source = try plain()
        let result = Tensor(uninitializedShape: shape)
        withExtendedLifetime(source) { result.storage.floats.update(from: source.floatPointer, count: count) }
        return result
    }

    /// This tensor's values as a leaf outside the graph (no copy).
    public func detached() -> Tensor {
        Tensor(shape: shape, storage: storage, offset: offset, descriptor: descriptor)
    }

    /// Calls `body` with the plain row-major values. The tensor must be plain.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(isPlain, "withUnsafeBufferPointer needs a plain tensor; call plain() first")
        return try body(UnsafeBufferPointer(start: floatPointer, count: count))
    }

    /// Calls `body` with mutable access to the plain row-major values, for in-place
    /// updates of leaves such as parameters. The tensor must be plain.
    public func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        precondition(isPlain, "withUnsafeMutableBufferPointer needs a plain tensor; call plain() first")
        return try body(UnsafeMutableBufferPointer(start: floatPointer, count: count))
    }

    /// The first element of a plain tensor's values, for in-place kernels such as
    /// optimiser updates that run over several tensors at once. Valid while the
    /// tensor is alive; the tensor must be plain.
    public var unsafeScalarPointer: UnsafeMutablePointer<Float> {
        precondition(isPlain, "unsafeScalarPointer needs a plain tensor; call plain() first")
        return floatPointer
    }

    var rawPointer: UnsafeMutableRawPointer { storage.pointer + offset * MemoryLayout<Float>.stride }
    var floatPointer: UnsafeMutablePointer<Float> { storage.floats + offset }

    /// The oneDNN descriptor of the data as laid out now.
    var memoryDescriptor: MemoryDescriptor {
        descriptor ?? MemoryDescriptor(plain: shape.isEmpty ? [1] : shape)
    }

    /// Whether every element is finite.
    public var isFinite: Bool {
        guard let source = try? plain() else { return false }
        return source.withUnsafeBufferPointer { $0.allSatisfy(\.isFinite) }
    }
}

extension Tensor: CustomStringConvertible {
    /// A readable summary: the shape and the first eight values.
    public var description: String {
        let values = scalars
        let shown = values.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(values.count > 8 ? ", ..." : "")])"
    }
}
