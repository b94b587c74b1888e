/// Sums and means over axes, in plain layout.
extension Tensor {
    /// Sums over `axes`. With `keepingShape`, reduced axes stay as size 1.
    public func sum(alongAxes axes: [Int], keepingShape: Bool = false) throws -> Tensor {
        let axes = Set(try Validate.axes(axes, rank: rank, "sum"))
        var result = try plain().detached()
        for axis in axes.sorted(by: >) { result = result.sumKeepingAxis(axis) }
        let keptShape = result.shape
        let finalShape = keepingShape ? keptShape : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        let out = Tensor(shape: finalShape, storage: result.storage, offset: result.offset)
        let inputShape = shape
        return Tensor.record(out, name: "sum", inputs: [self]) { g in
            let plainGradient = try g.plain()
            var expanded = Tensor(shape: keptShape, storage: plainGradient.storage, offset: plainGradient.offset)
            for axis in axes.sorted() { expanded = expanded.broadcasting(axis: axis, to: inputShape[axis]) }
            return [expanded]
        }
    }

    /// Means over `axes`. With `keepingShape`, reduced axes stay as size 1.
    public func mean(alongAxes axes: [Int], keepingShape: Bool = false) throws -> Tensor {
        let normalised = Set(try Validate.axes(axes, rank: rank, "mean"))
        let n = normalised.reduce(1) { $0 * shape[$1] }
        guard n > 0 else { throw TensorError.empty(op: "mean", message: "mean over empty axes of shape \(shape)") }
        return try sum(alongAxes: axes, keepingShape: keepingShape) * (1 / Float(n))
    }

    /// The sum of all elements, as a tensor of shape `[]`.
    public func sum() throws -> Tensor { try sum(alongAxes: Array(0..<rank)) }

    /// The mean of all elements, as a tensor of shape `[]`.
    public func mean() throws -> Tensor { try mean(alongAxes: Array(0..<rank)) }

    /// Sum over one axis of a plain tensor, keeping it as size 1 (no autograd).
    private func sumKeepingAxis(_ axis: Int) -> Tensor {
        let outer = shape[..<axis].reduce(1, *), middle = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var outShape = shape
        outShape[axis] = 1
        let result = Tensor(zeros: outShape)
        let src = floatPointer, dst = result.floatPointer
        for o in 0..<outer {
            let out = dst + o * inner
            for m in 0..<middle {
                let row = src + (o * middle + m) * inner
                for i in 0..<inner { out[i] += row[i] }
            }
        }
        return result
    }

    /// Repeats a size-1 axis `size` times (no autograd).
    func broadcasting(axis: Int, to size: Int) -> Tensor {
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        var outShape = shape
        outShape[axis] = size
        let result = Tensor(zeros: outShape)
        let src = floatPointer, dst = result.floatPointer
        for o in 0..<outer {
            for m in 0..<size { (dst + (o * size + m) * inner).update(from: src + o * inner, count: inner) }
        }
        return result
    }
}
