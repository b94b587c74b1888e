import Foundation
import MOCCACore

/// Updates parameters from their gradients.
public protocol Optimizer: AnyObject {
    /// The step size in force; schedules change it between epochs.
    var learningRate: Float { get set }
    /// The parameters being optimised.
    var parameters: [Tensor] { get }
    /// Applies one update from the current gradients (parameters without one are skipped).
    func step() throws
}

extension Optimizer {
    /// Clears every parameter's gradient.
    public func zeroGradients() {
        for parameter in parameters { parameter.grad = nil }
    }
}

/// Adam (Kingma & Ba), with PyTorch's conventions: bias-corrected moments, ε added
/// after the square root, and either L2 weight decay added to the gradient (`Adam`)
/// or decoupled weight decay (`AdamW`, Loshchilov & Hutter).
public final class Adam: Optimizer {
    /// The parameters being optimised.
    public let parameters: [Tensor]
    /// The step size in force; schedules change it between epochs.
    public var learningRate: Float
    /// The moments' decay rates, the ε added to the denominator, and the weight decay.
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    /// Whether weight decay is decoupled from the gradient (AdamW).
    public let decoupledWeightDecay: Bool
    private var firstMoments: [Tensor]
    private var secondMoments: [Tensor]
    private var stepCount = 0

    /// Adam over `parameters`, with PyTorch's defaults; `decoupledWeightDecay` makes it AdamW.
    public init(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
        firstMoments = parameters.map { Tensor(zeros: $0.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.shape) }
    }

    /// AdamW: Adam with decoupled weight decay (PyTorch's default decay 0.01).
    public static func adamW(parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                             epsilon: Float = 1e-8, weightDecay: Float = 0.01) -> Adam {
        Adam(parameters: parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
             weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    /// Applies one Adam update from the current gradients (parameters without one are skipped).
    public func step() throws {
        stepCount += 1
        let t = Double(stepCount)
        // Bias corrections in double precision, as PyTorch computes them in Python floats.
        let stepSize = Float(Double(learningRate) / (1 - pow(Double(beta1), t)))
        let correction2 = Float((1 - pow(Double(beta2), t)).squareRoot())
        let (b1, b2, eps, lr, wd, decoupled) = (beta1, beta2, epsilon, learningRate, weightDecay, decoupledWeightDecay)
        for (index, parameter) in parameters.enumerated() {
            guard let gradient = try parameter.grad?.plain() else { continue }
            defer { withExtendedLifetime(gradient) {} }
            let m = firstMoments[index].unsafeScalarPointer, v = secondMoments[index].unsafeScalarPointer
            let g = gradient.unsafeScalarPointer, p = parameter.unsafeScalarPointer
            Threads.parallelFor(parameter.count) { range in
                for i in range {
                    var gi = g[i]
                    if decoupled { p[i] *= 1 - lr * wd } else if wd != 0 { gi += wd * p[i] }
                    m[i] = b1 * m[i] + (1 - b1) * gi
                    v[i] = b2 * v[i] + (1 - b2) * gi * gi
                    p[i] -= stepSize * (m[i] / (v[i].squareRoot() / correction2 + eps))
                }
            }
        }
    }
}

/// Stochastic gradient descent with optional momentum and L2 weight decay (PyTorch's `SGD`).
public final class SGD: Optimizer {
    /// The parameters being optimised.
    public let parameters: [Tensor]
    /// The step size in force; schedules change it between epochs.
    public var learningRate: Float
    /// The momentum factor (0 for none) and the L2 weight decay.
    public let momentum: Float, weightDecay: Float
    private var velocities: [Tensor?]

    /// SGD over `parameters`; without momentum or weight decay by default.
    public init(parameters: [Tensor], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        velocities = Array(repeating: nil, count: parameters.count)
    }

    /// Applies one SGD update from the current gradients (parameters without one are skipped).
    public func step() throws {
        for (index, parameter) in parameters.enumerated() {
            guard let gradient = try parameter.grad?.plain() else { continue }
            defer { withExtendedLifetime(gradient) {} }
            let g = gradient.unsafeScalarPointer, p = parameter.unsafeScalarPointer
            let (lr, mu, wd) = (learningRate, momentum, weightDecay)
            guard mu != 0 else {
                Threads.parallelFor(parameter.count) { range in for i in range { p[i] -= lr * (g[i] + wd * p[i]) } }
                continue
            }
            // PyTorch starts the momentum buffer at the first gradient itself.
            let isFirst = velocities[index] == nil
            let velocity = velocities[index] ?? Tensor(zeros: parameter.shape)
            velocities[index] = velocity
            let b = velocity.unsafeScalarPointer
            Threads.parallelFor(parameter.count) { range in
                for i in range {
                    let gi = g[i] + wd * p[i]
                    b[i] = isFirst ? gi : mu * b[i] + gi
                    p[i] -= lr * b[i]
                }
            }
        }
    }
}
