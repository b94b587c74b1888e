import MOCCACore

/// A layer: a module that maps one tensor to another.
public protocol Layer: AnyObject {
    /// The forward pass.
    func callAsFunction(_ input: Tensor) throws -> Tensor
}

/// The base class of layers and models.
///
/// A module's tensors and sub-modules are its stored properties, found by reflection,
/// so a model's parameter tree and its weight-file keys follow from its declaration:
/// a property `conv1` holding a module with a `weight` gives the key `conv1.weight`,
/// as in PyTorch's `state_dict`. Tensors that require gradients are parameters, the
/// others (running statistics) are buffers.
open class Module {
    /// Whether the module is in training mode (batch statistics in BatchNorm).
    public private(set) var isTraining = true

    /// A module in training mode.
    public init() {}

    /// Property names whose key in weight files differs from the Swift name
    /// (for example `runningVariance` saved as PyTorch's `running_var`).
    open class var tensorKeys: [String: String] { [:] }

    /// Sub-modules whose tensors are keyed as if they were this module's own (no
    /// `name.` prefix). A model can then group its layers into an encoder and a decoder
    /// while its weight-file keys stay those of a flat PyTorch module.
    open class var inlinedChildren: Set<String> { [] }

    /// Switches this module and all sub-modules to training (`true`) or evaluation mode.
    public func train(_ training: Bool = true) {
        isTraining = training
        for (_, child) in children() { child.train(training) }
    }

    /// Switches this module and all sub-modules to evaluation mode.
    public func eval() { train(false) }

    /// The direct sub-modules, with their names.
    public func children() -> [(String, Module)] {
        reflectedProperties().compactMap { name, value in
            if let module = value as? Module { return [(name, module)] }
            if let modules = value as? [Module] { return modules.enumerated().map { ("\(name).\($0.offset)", $0.element) } }
            return nil
        }.flatMap { $0 }
    }

    /// Every tensor of this module and its sub-modules, keyed by dotted path.
    public func namedTensors() -> [(String, Tensor)] {
        var result: [(String, Tensor)] = []
        let keys = Self.tensorKeys
        for (name, value) in reflectedProperties() {
            if let tensor = value as? Tensor { result.append((keys[name] ?? name, tensor)) }
        }
        let inlined = Self.inlinedChildren
        for (name, child) in children() {
            let prefix = inlined.contains(name) ? "" : "\(name)."
            result += child.namedTensors().map { (prefix + $0.0, $0.1) }
        }
        return result
    }

    /// The trainable tensors, keyed by dotted path.
    public func namedParameters() -> [(String, Tensor)] { namedTensors().filter { $0.1.requiresGrad } }

    /// The trainable tensors, in declaration order.
    public func parameters() -> [Tensor] { namedParameters().map(\.1) }

    /// Parameters and buffers by key, for weight files.
    public func stateDictionary() -> [String: Tensor] {
        Dictionary(namedTensors(), uniquingKeysWith: { first, _ in first })
    }

    /// Copies values from `state` into this module's tensors, in place.
    /// - Parameter strict: when true, every tensor must be present and no extra key allowed.
    /// - Throws: ``ModuleError`` naming the first missing, unexpected or mis-shaped key.
    public func load(_ state: [String: Tensor], strict: Bool = true) throws {
        let own = namedTensors()
        if strict {
            let expected = Set(own.map(\.0))
            if let extra = state.keys.sorted().first(where: { !expected.contains($0) }) {
                throw ModuleError.unexpectedKey(extra)
            }
        }
        for (key, tensor) in own {
            guard let source = state[key] else {
                if strict { throw ModuleError.missingKey(key) }
                continue
            }
            guard source.shape == tensor.shape else {
                throw ModuleError.shapeMismatch(key: key, expected: tensor.shape, got: source.shape)
            }
            let values = try source.plain()
            values.withUnsafeBufferPointer { src in
                tensor.withUnsafeMutableBufferPointer { dst in _ = dst.update(fromContentsOf: src) }
            }
        }
    }

    /// Clears the gradients of every parameter.
    public func zeroGradients() {
        for parameter in parameters() { parameter.grad = nil }
    }

    private func reflectedProperties() -> [(String, Any)] {
        var result: [(String, Any)] = []
        var mirror: Mirror? = Mirror(reflecting: self)
        while let current = mirror {
            for child in current.children {
                guard let label = child.label else { continue }
                // Optional properties reflect as Optional; unwrap one level.
                let value: Any
                if let optional = child.value as? OptionalProtocol {
                    guard let wrapped = optional.wrapped else { continue }
                    value = wrapped
                } else {
                    value = child.value
                }
                result.append((label, value))
            }
            mirror = current.superclassMirror
        }
        return result
    }
}

private protocol OptionalProtocol { var wrapped: Any? { get } }
extension Optional: OptionalProtocol {
    fileprivate var wrapped: Any? { self.map { $0 as Any } }
}

/// An error when loading state into a module.
public enum ModuleError: Error, Equatable, CustomStringConvertible {
    /// The weights lack a tensor that the model has.
    case missingKey(String)
    /// The weights hold a tensor that the model does not have.
    case unexpectedKey(String)
    /// A tensor's shape differs from the model's parameter of that name.
    case shapeMismatch(key: String, expected: [Int], got: [Int])

    /// A readable description of the error.
    public var description: String {
        switch self {
        case .missingKey(let key): return "weights: the tensor '\(key)' is missing"
        case .unexpectedKey(let key): return "weights: unexpected tensor '\(key)' (not part of this model)"
        case let .shapeMismatch(key, expected, got): return "weights: '\(key)' has shape \(got), the model expects \(expected)"
        }
    }
}
