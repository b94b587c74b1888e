import MOCCACore

/// Weight initialisers matching PyTorch's `torch.nn.init`.
public enum Initializer {
    /// `(fan_in, fan_out)` as PyTorch computes them: dimension 1 and dimension 0 of the
    /// weight, each times the receptive-field size (also for transposed convolutions).
    public static func fans(of shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "fans need a weight of rank >= 2")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// The recommended gain for a leaky ReLU of slope `negativeSlope`: `√(2 / (1 + slope²))`.
    public static func leakyReluGain(negativeSlope: Float = 0.01) -> Float {
        (2 / (1 + negativeSlope * negativeSlope)).squareRoot()
    }

    /// Xavier/Glorot uniform: `U(±gain·√(6 / (fan_in + fan_out)))`.
    public static func xavierUniform(shape: [Int], gain: Float = 1, using generator: inout RandomGenerator) -> Tensor {
        let (fanIn, fanOut) = fans(of: shape)
        let bound = gain * (6 / Float(fanIn + fanOut)).squareRoot()
        return Tensor.uniform(shape: shape, in: -bound...bound, using: &generator)
    }

    /// Kaiming/He uniform for a leaky ReLU of slope `a`: `U(±√(6 / ((1 + a²)·fan_in)))`.
    /// PyTorch's default for `Linear` and `Conv` weights is `a = √5`, i.e. `U(±1/√fan_in)`.
    public static func kaimingUniform(shape: [Int], a: Float = Float(5).squareRoot(), using generator: inout RandomGenerator) -> Tensor {
        let bound = (6 / ((1 + a * a) * Float(fans(of: shape).fanIn))).squareRoot()
        return Tensor.uniform(shape: shape, in: -bound...bound, using: &generator)
    }

    /// PyTorch's default bias: `U(±1/√fan_in)` with the fan-in of the layer's weight.
    public static func bias(count: Int, fanIn: Int, using generator: inout RandomGenerator) -> Tensor {
        let bound = 1 / Float(max(fanIn, 1)).squareRoot()
        return Tensor.uniform(shape: [count], in: -bound...bound, using: &generator)
    }

    /// PyTorch's default parameters of a `Linear`, `Conv2d` or `ConvTranspose2d` layer: a
    /// Kaiming-uniform weight and, when `biasCount` is given, a U(±1/√fan_in) bias; both
    /// require gradients.
    public static func defaultParameters(weightShape: [Int], biasCount: Int?, using generator: inout RandomGenerator) -> (weight: Tensor, bias: Tensor?) {
        let weight = kaimingUniform(shape: weightShape, using: &generator)
        weight.requiresGrad = true
        guard let biasCount else { return (weight, nil) }
        let bias = Initializer.bias(count: biasCount, fanIn: fans(of: weightShape).fanIn, using: &generator)
        bias.requiresGrad = true
        return (weight, bias)
    }
}
