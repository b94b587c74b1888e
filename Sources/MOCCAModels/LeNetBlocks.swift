import MOCCACore
import MOCCANN

/// The convolution blocks of Deep SVDD's LeNet encoders: convolution, BatchNorm, LeakyReLU
/// and 2×2 max pooling, the convolution's raw output being a tap.
enum LeNetBlocks {
    /// Runs `x` through `blocks` and returns the last block's output, appending to `taps` the
    /// raw output of each convolution whose position (from 0) is in `tapIndices`.
    ///
    /// The paper's order is BN, LeakyReLU, pool. LeakyReLU is strictly increasing, so it
    /// commutes with max pooling (same values, same argmax, same gradients), and after the
    /// pool it touches a quarter of the elements. In evaluation mode without gradients
    /// (``InferenceFusion``) a convolution whose output no tap keeps takes its BatchNorm
    /// folded in and applies LeakyReLU as it writes, before the pool; one whose output is
    /// kept has its BatchNorm and LeakyReLU applied to the pooled values in the pool's pass.
    static func run(_ x: Tensor, _ blocks: [(Conv2d, BatchNorm)], keepingTaps tapIndices: Set<Int>, taps: inout [Tensor]) throws -> Tensor {
        var h = x
        for (index, (conv, bn)) in blocks.enumerated() {
            if !tapIndices.contains(index), InferenceFusion.applies(to: conv, bn) {
                h = try Tensor.maxPool2d(conv(h, normalizedBy: bn, activation: .leakyReLU), kernelSize: 2)
                continue
            }
            let features = try conv(h)
            if tapIndices.contains(index) { taps.append(features) }
            h = try bn.maxPooledLeakyRelu(features, kernelSize: 2)
        }
        return h
    }
}
