/// How an op's output propagates a gradient to its inputs: the op's backward,
/// written next to its forward.
final class GradientFunction {
    let name: String
    let inputs: [Tensor]
    /// Maps the gradient of the output to one gradient per input (nil: no gradient).
    let backward: (Tensor) throws -> [Tensor?]

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) throws -> [Tensor?]) {
        self.name = name
        self.inputs = inputs
        self.backward = backward
    }
}

extension Tensor {
    /// Attaches a backward function to `output` when gradients are enabled and any
    /// input needs one; otherwise records nothing. Returns `output`.
    static func record(
        _ output: Tensor, name: String, inputs: [Tensor],
        backward: @escaping (Tensor) throws -> [Tensor?]
    ) -> Tensor {
        guard GradientMode.isEnabled, inputs.contains(where: \.requiresGrad) else { return output }
        output.requiresGrad = true
        output.gradientFunction = GradientFunction(name: name, inputs: inputs, backward: backward)
        return output
    }

    /// Back-propagates from this tensor through the recorded graph and accumulates
    /// the gradients of every leaf that requires one into its ``grad``.
    ///
    /// - Parameter seed: the gradient of the final objective with respect to this
    ///   tensor; defaults to ones (the usual case of a scalar loss).
    /// The graph is released afterwards, as PyTorch does by default.
    public func backward(seed: Tensor? = nil) throws {
        guard requiresGrad else {
            throw TensorError.invalidArgument(op: "backward", message: "the tensor does not require gradients")
        }
        if let seed, seed.shape != shape {
            throw TensorError.shapeMismatch(op: "backward", message: "seed \(seed.shape) vs tensor \(shape)")
        }
        var order = topologicalOrder()
        var gradients: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): seed ?? Tensor(repeating: 1, shape: shape)]
        // Each node leaves the list as it is processed: once its consumers have dropped
        // their references too, its values and what its backward saved are freed while the
        // pass goes on, rather than all at its end (the MTD autoencoder at batch 32 held
        // every activation of the step until the last gradient was computed).
        while let node = order.popLast() {
            guard let gradient = gradients.removeValue(forKey: ObjectIdentifier(node)) else { continue }
            guard let function = node.gradientFunction else {
                node.grad = try node.grad.map { try $0.accumulating(gradient) } ?? gradient.plain()
                continue
            }
            let inputGradients = try function.backward(gradient)
            for (input, inputGradient) in zip(function.inputs, inputGradients) {
                guard input.requiresGrad, let inputGradient else { continue }
                let id = ObjectIdentifier(input)
                gradients[id] = try gradients[id].map { try $0.accumulating(inputGradient) } ?? inputGradient
            }
            node.gradientFunction = nil
        }
    }

    /// Nodes reachable from this tensor, each after all the nodes it depends on.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(Tensor, Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            guard visited.insert(ObjectIdentifier(node)).inserted else { continue }
            stack.append((node, true))
            for input in node.gradientFunction?.inputs ?? [] where input.requiresGrad {
                if !visited.contains(ObjectIdentifier(input)) { stack.append((input, false)) }
            }
        }
        return order
    }

    /// `self + other` for gradient accumulation: element-wise over the raw buffer
    /// when both share a layout, otherwise after a reorder to this tensor's layout.
    func accumulating(_ other: Tensor) throws -> Tensor {
        let other = try DNNL.reorder(other, to: memoryDescriptor)
        let result = Tensor(uninitializedShape: shape, descriptor: descriptor)
        let n = (descriptor?.byteCount ?? count * 4) / 4
        withExtendedLifetime(other) {
            let a = floatPointer, b = other.floatPointer, c = result.floatPointer
            Threads.parallelFor(n) { range in for i in range { c[i] = a[i] + b[i] } }
        }
        return result
    }
}
