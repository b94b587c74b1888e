/// Reshape, flatten, concatenation and slicing. Reshapes of plain tensors are views.
extension Tensor {
    /// The same values with a new shape of equal element count. One dimension may be -1.
    public func reshaped(to newShape: [Int]) throws -> Tensor {
        var resolved = newShape
        let inferred = newShape.indices.filter { newShape[$0] == -1 }
        guard inferred.count <= 1, newShape.allSatisfy({ $0 >= -1 }) else {
            throw TensorError.invalidArgument(op: "reshape", message: "invalid target shape \(newShape)")
        }
        if let index = inferred.first {
            let known = newShape.filter { $0 != -1 }.reduce(1, *)
            guard known > 0, count % known == 0 else {
                throw TensorError.shapeMismatch(op: "reshape", message: "cannot infer a dimension of \(newShape) from \(shape)")
            }
            resolved[index] = count / known
        }
        guard resolved.reduce(1, *) == count else {
            throw TensorError.shapeMismatch(op: "reshape", message: "\(shape) (\(count) elements) cannot become \(resolved)")
        }
        let source = try plain()
        let out = Tensor(shape: resolved, storage: source.storage, offset: source.offset)
        let originalShape = shape
        return Tensor.record(out, name: "reshape", inputs: [self]) { g in
            let plainGradient = try g.plain()
            return [Tensor(shape: originalShape, storage: plainGradient.storage, offset: plainGradient.offset)]
        }
    }

    /// Collapses every axis from `startAxis` on into one: `[N, C, H, W]` becomes `[N, C*H*W]`.
    public func flattened(startAxis: Int = 1) throws -> Tensor {
        guard (0..<max(rank, 1)).contains(startAxis) else {
            throw TensorError.invalidArgument(op: "flatten", message: "start axis \(startAxis) for rank \(rank)")
        }
        return try reshaped(to: Array(shape[..<startAxis]) + [shape[startAxis...].reduce(1, *)])
    }

    /// Joins tensors along `axis`; all other dimensions must agree.
    public static func concatenate(_ tensors: [Tensor], alongAxis axis: Int) throws -> Tensor {
        guard let first = tensors.first else {
            throw TensorError.empty(op: "concatenate", message: "no tensors to concatenate")
        }
        let axis = try Validate.axes([axis], rank: first.rank, "concatenate")[0]
        for t in tensors {
            var a = t.shape, b = first.shape
            guard a.count == b.count else {
                throw TensorError.shapeMismatch(op: "concatenate", message: "ranks differ: \(t.shape) vs \(first.shape)")
            }
            a[axis] = 0; b[axis] = 0
            guard a == b else {
                throw TensorError.shapeMismatch(op: "concatenate", message: "\(t.shape) vs \(first.shape) off axis \(axis)")
            }
        }
        let sizes = tensors.map { $0.shape[axis] }
        var outShape = first.shape
        outShape[axis] = sizes.reduce(0, +)
        let outer = first.shape[..<axis].reduce(1, *), inner = first.shape[(axis + 1)...].reduce(1, *)
        let out = Tensor(zeros: outShape)
        var start = 0
        for (t, size) in zip(tensors, sizes) {
            let source = try t.plain()
            defer { withExtendedLifetime(source) {} }
            for o in 0..<outer {
                (out.floatPointer + (o * outShape[axis] + start) * inner)
                    .update(from: source.floatPointer + o * size * inner, count: size * inner)
            }
            start += size
        }
        return record(out, name: "concatenate", inputs: tensors) { g in
            var offset = 0
            return try sizes.map { size in
                defer { offset += size }
                return try g.slice(alongAxis: axis, offset..<(offset + size))
            }
        }
    }

    /// The elements whose index along `axis` lies in `range`.
    public func slice(alongAxis axis: Int, _ range: Range<Int>) throws -> Tensor {
        let axis = try Validate.axes([axis], rank: rank, "slice")[0]
        guard range.lowerBound >= 0, range.upperBound <= shape[axis] else {
            throw TensorError.invalidArgument(op: "slice", message: "range \(range) outside 0..<\(shape[axis]) on axis \(axis)")
        }
        let source = try plain()
        var outShape = shape
        outShape[axis] = range.count
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let out: Tensor
        if outer == 1 {
            // A leading-axis slice is contiguous: share the storage.
            out = Tensor(shape: outShape, storage: source.storage, offset: source.offset + range.lowerBound * inner)
        } else {
            out = Tensor(zeros: outShape)
            defer { withExtendedLifetime(source) {} }
            for o in 0..<outer {
                (out.floatPointer + o * range.count * inner)
                    .update(from: source.floatPointer + (o * shape[axis] + range.lowerBound) * inner,
                            count: range.count * inner)
            }
        }
        let inputShape = shape
        return Tensor.record(out, name: "slice", inputs: [self]) { g in
            let g = try g.plain()
            defer { withExtendedLifetime(g) {} }
            let full = Tensor(zeros: inputShape)
            for o in 0..<outer {
                (full.floatPointer + (o * inputShape[axis] + range.lowerBound) * inner)
                    .update(from: g.floatPointer + o * range.count * inner, count: range.count * inner)
            }
            return [full]
        }
    }
}
