/// Element-wise arithmetic on same-shape tensors and with scalars, in plain layout.
extension Tensor {
    /// Applies `f` to every element pair of two same-shape tensors.
    fileprivate static func zipMap(
        _ a: Tensor, _ b: Tensor, _ op: String, _ f: (Float, Float) -> Float
    ) throws -> Tensor {
        try Validate.sameShape(a, b, op)
        if let layout = a.descriptor, layout == b.descriptor, !layout.isPadded {
            return zipStorage(a, b, layout, f)
        }
        let a = try a.plain(), b = try b.plain()
        let result = Tensor(zeros: a.shape)
        withExtendedLifetime((a, b)) {
            let pa = a.floatPointer, pb = b.floatPointer, pr = result.floatPointer
            for i in 0..<a.count { pr[i] = f(pa[i], pb[i]) }
        }
        return result
    }

    /// `f` over the raw storage of two tensors in the same dense (unpadded) oneDNN layout:
    /// element `i` of one storage pairs with element `i` of the other, so no reorder is
    /// needed, and the result keeps the layout for the next oneDNN op (a residual sum
    /// between channels-last 3-D convolutions stays channels-last).
    private static func zipStorage(_ a: Tensor, _ b: Tensor, _ layout: MemoryDescriptor,
                                   _ f: (Float, Float) -> Float) -> Tensor {
        let result = Tensor(uninitializedShape: a.shape, descriptor: layout)
        withExtendedLifetime((a, b)) {
            let pa = a.storage.floats, pb = b.storage.floats, pr = result.storage.floats
            for i in 0..<a.count { pr[i] = f(pa[i], pb[i]) }
        }
        return result
    }

    /// Applies `f` to every element.
    func map(_ f: (Float) -> Float) throws -> Tensor {
        let source = try plain()
        let result = Tensor(zeros: shape)
        withExtendedLifetime(source) {
            let ps = source.floatPointer, pr = result.floatPointer
            for i in 0..<count { pr[i] = f(ps[i]) }
        }
        return result
    }

    /// Element-wise sum.
    public static func + (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try zipMap(a, b, "add", +)
        return record(out, name: "add", inputs: [a, b]) { g in [g, g] }
    }

    /// Element-wise difference.
    public static func - (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try zipMap(a, b, "subtract", -)
        return record(out, name: "subtract", inputs: [a, b]) { g in [g, try g * -1] }
    }

    /// Element-wise (Hadamard) product.
    public static func * (a: Tensor, b: Tensor) throws -> Tensor {
        let out = try zipMap(a, b, "multiply", *)
        return record(out, name: "multiply", inputs: [a, b]) { g in
            [try zipMap(g, b.detached(), "multiply", *), try zipMap(g, a.detached(), "multiply", *)]
        }
    }

    /// Every element times `scalar`.
    public static func * (a: Tensor, scalar: Float) throws -> Tensor {
        let out = try a.map { $0 * scalar }
        return record(out, name: "scale", inputs: [a]) { g in [try g.map { $0 * scalar }] }
    }

    /// Every element plus `scalar`.
    public static func + (a: Tensor, scalar: Float) throws -> Tensor {
        let out = try a.map { $0 + scalar }
        return record(out, name: "shift", inputs: [a]) { g in [g] }
    }

    /// Every element squared.
    public func squared() throws -> Tensor {
        let out = try map { $0 * $0 }
        let input = detached()
        return Tensor.record(out, name: "square", inputs: [self]) { g in
            [try Tensor.zipMap(g, input, "square backward") { $0 * 2 * $1 }]
        }
    }
}
