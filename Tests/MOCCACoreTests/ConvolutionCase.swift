import MOCCACore
import MOCCATestSupport
import Testing

/// A 2-D convolution or transposed convolution of one geometry, run forward and backward on
/// the deterministic fills: the cases of the convolution tests.
struct ConvolutionCase: CustomTestStringConvertible, Sendable {
    let transposed: Bool
    let inChannels, outChannels, kernel, stride, padding, outputPadding: Int
    let bias: Bool

    var testDescription: String {
        "\(transposed ? "deconv" : "conv") \(inChannels)->\(outChannels) k\(kernel) s\(stride) p\(padding)\(bias ? " bias" : "")"
    }

    /// What ``run(prepare:)`` returns, in this order: output, input gradient, weight
    /// gradient and (if any) bias gradient.
    static let resultNames = ["output", "input gradient", "weight gradient", "bias gradient"]

    /// Runs the op on a `[3, in, 11, 10]` input and feeds a fill back as the output
    /// gradient. `prepare` maps the input, the weight and that output gradient first (the
    /// bias is used as filled).
    /// - Returns: the output (as the op made it, in its layout) and its gradient fed back,
    ///   and the plain output followed by the input, weight and bias gradients.
    func run(prepare: (Tensor) throws -> Tensor = { $0 }) throws -> (output: Tensor, upstream: Tensor, results: [Tensor]) {
        let x = leaf(try prepare(deterministicFill([3, inChannels, 11, 10], seed: 1)))
        let weightShape = transposed ? [inChannels, outChannels, kernel, kernel] : [outChannels, inChannels, kernel, kernel]
        let weight = leaf(try prepare(deterministicFill(weightShape, seed: 2, scale: 0.3)))
        let bias = bias ? leaf(deterministicFill([outChannels], seed: 3, scale: 0.1)) : nil
        let y = transposed
            ? try Tensor.convolutionTranspose2d(x, weight: weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding)
            : try Tensor.convolution2d(x, weight: weight, bias: bias, stride: stride, padding: padding)
        let upstream = try prepare(deterministicFill(y.shape, seed: 4))
        try project(y, upstream).backward()
        let gradients = try ([x, weight] + (bias.map { [$0] } ?? [])).map { try #require($0.grad) }
        return (y, upstream, [try y.plain()] + gradients)
    }
}
