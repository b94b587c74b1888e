/// Where an op's gradient for one of its inputs goes.
///
/// The graph refers to the ops that produced intermediate values, never to the values
/// themselves: an activation stays in memory only while a backward function keeps it
/// (as PyTorch's saved tensors do), not merely because a later op read it. A residual
/// sum that only feeds a LeakyReLU is freed as soon as the LeakyReLU has run.
enum GradientEdge {
    /// A leaf that requires a gradient (a parameter or an input): it accumulates one.
    case leaf(Tensor)
    /// The op that produced the input: the gradient goes on through its backward.
    case function(GradientFunction)
}

/// How an op's output propagates a gradient to its inputs: the op's backward,
/// written next to its forward.
final class GradientFunction {
    let name: String
    /// One edge per input of the op, nil where the input needs no gradient.
    private(set) var inputs: [GradientEdge?]
    /// Maps the gradient of the output to one gradient per input (nil: no gradient);
    /// released once it has run, with everything it saved.
    private var backward: ((Tensor) throws -> [Gradient?])?

    init(name: String, inputs: [Tensor], backward: @escaping (Tensor) throws -> [Gradient?]) {
        self.name = name
        self.inputs = inputs.map { input in
            if let function = input.gradientFunction { return .function(function) }
            return input.requiresGrad ? .leaf(input) : nil
        }
        self.backward = backward
    }

    /// Runs the backward once, then releases it and the edges, so that what it saved is
    /// freed while the pass goes on.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` when it already ran (a
    ///   second backward pass through the same graph).
    func run(_ gradient: Tensor) throws -> [(GradientEdge, Gradient)] {
        guard let backward else {
            throw TensorError.invalidArgument(op: "backward", message: "the graph through '\(name)' was already used by an earlier backward pass; run the forward pass again")
        }
        let gradients = try backward(gradient)
        let routed = zip(inputs, gradients).compactMap { edge, gradient in edge.flatMap { edge in gradient.map { (edge, $0) } } }
        self.backward = nil
        inputs = []
        return routed
    }
}

extension Tensor {
    /// Attaches a backward function to `output` when gradients are enabled and any
    /// input needs one; otherwise records nothing. Returns `output`.
    static func record(
        _ output: Tensor, name: String, inputs: [Tensor],
        backward: @escaping (Tensor) throws -> [Tensor?]
    ) -> Tensor {
        record(output, name: name, inputs: inputs, gradients: { try backward($0).map { $0.map(Gradient.dense) } })
    }

    /// ``record(_:name:inputs:backward:)`` for a backward that may hand back gradients
    /// other than dense tensors (``Gradient``).
    static func record(
        _ output: Tensor, name: String, inputs: [Tensor],
        gradients backward: @escaping (Tensor) throws -> [Gradient?]
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
    /// The graph is released as the pass goes, as PyTorch does by default: a second
    /// backward pass through it throws.
    public func backward(seed: Tensor? = nil) throws {
        guard requiresGrad else {
            throw TensorError.invalidArgument(op: "backward", message: "the tensor does not require gradients")
        }
        if let seed, seed.shape != shape {
            throw TensorError.shapeMismatch(op: "backward", message: "seed \(seed.shape) vs tensor \(shape)")
        }
        let seed = seed ?? Tensor(repeating: 1, shape: shape)
        guard let root = gradientFunction else {
            grad = try grad.map { try $0.accumulating(seed) } ?? seed.plain()
            return
        }
        var order = Self.topologicalOrder(from: root)
        var gradients: [ObjectIdentifier: Gradient] = [ObjectIdentifier(root): .dense(seed)]
        // A leaf's incoming gradients are summed first and added to its `grad` at the end,
        // in the order they arrive.
        var leaves: [ObjectIdentifier: (tensor: Tensor, gradient: Gradient)] = [:]
        // Each function leaves the list as it runs and releases what it saved, so that
        // activations are freed while the pass goes on rather than all at its end.
        while let function = order.popLast() {
            guard let gradient = gradients.removeValue(forKey: ObjectIdentifier(function)) else { continue }
            for (edge, inputGradient) in try function.run(gradient.tensor()) {
                switch edge {
                case .function(let input):
                    let id = ObjectIdentifier(input)
                    gradients[id] = try gradients[id].map { try $0.adding(inputGradient) } ?? inputGradient
                case .leaf(let tensor):
                    let id = ObjectIdentifier(tensor)
                    leaves[id] = (tensor, try leaves[id].map { try $0.gradient.adding(inputGradient) } ?? inputGradient)
                }
            }
        }
        for (tensor, gradient) in leaves.values {
            let gradient = try gradient.tensor()
            tensor.grad = try tensor.grad.map { try $0.accumulating(gradient) } ?? gradient.plain()
        }
    }

    /// The functions reachable from `root`, each after all the functions it depends on.
    private static func topologicalOrder(from root: GradientFunction) -> [GradientFunction] {
        var order: [GradientFunction] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradientFunction, Bool)] = [(root, false)]
        while let (function, expanded) = stack.popLast() {
            if expanded { order.append(function); continue }
            guard visited.insert(ObjectIdentifier(function)).inserted else { continue }
            stack.append((function, true))
            for case .function(let input)? in function.inputs where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
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
