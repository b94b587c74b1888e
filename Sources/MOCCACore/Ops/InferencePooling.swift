/// Max pooling with a per-channel affine map and a leaky ReLU applied to its output, for
/// inference.
///
/// An evaluation-mode BatchNorm is a per-channel map `(x − mean)·scale + shift`; with a
/// positive scale it is increasing, so it commutes with max pooling exactly (each rounding
/// step is monotone too), as the leaky ReLU does. Applied after the pool it touches a
/// quarter of the values, and in the same pass as the pool. This is what is left to fuse
/// where a convolution's raw output must be kept (a network's tap reads it), so that
/// the BatchNorm cannot be folded into the convolution.
extension Tensor {
    /// `leakyRelu((maxPool2d(x) − center[c])·scale[c] + shift[c])`, per channel `c`, for `x`
    /// `[N, C, H, W]` and a square window with a stride of the window.
    ///
    /// Inference only: no autograd record.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` when gradients would be
    ///   recorded, ``TensorError/shapeMismatch(op:message:)`` for arrays that are not `C`
    ///   long, and the errors of ``maxPool2d(_:kernelSize:stride:)``.
    public static func maxPool2dChannelAffineLeakyRelu(
        _ x: Tensor, kernelSize: Int, center: [Float], scale: [Float], shift: [Float], slope: Float
    ) throws -> Tensor {
        let op = "max_pool2d_affine_leaky_relu"
        if GradientMode.isEnabled, x.requiresGrad {
            throw TensorError.invalidArgument(op: op, message: "the fused pooling has no backward pass; run it inside withoutGradients")
        }
        try Validate.rank(x, 4, op, "input [N, C, H, W]")
        let channels = x.shape[1]
        guard center.count == channels, scale.count == channels, shift.count == channels else {
            throw TensorError.shapeMismatch(op: op, message: "\(center.count) centers, \(scale.count) scales and \(shift.count) shifts for \(channels) channels")
        }
        let (h, w) = (x.shape[2], x.shape[3])
        if kernelSize == 2, h % 2 == 0, w % 2 == 0, let block = x.channelBlock {
            let padded = (channels + block - 1) / block * block
            let zeros = [Float](repeating: 0, count: padded - channels)
            let affine = try Tensor(shape: [3, padded], scalars: center + zeros + scale + zeros + shift + zeros)
            return maxPool2x2ChannelAffineLeakyRelu(x, block: block, outShape: [x.shape[0], channels, h / 2, w / 2],
                                                    affine: affine, slope: slope)
        }
        // Other layouts and windows: oneDNN's pooling, then the map on the plain values.
        let pooled = try maxPool2d(x, kernelSize: kernelSize).plain()
        let out = Tensor(uninitializedShape: pooled.shape)
        let plane = pooled.shape[2] * pooled.shape[3]
        withExtendedLifetime(pooled) {
            let src = pooled.floatPointer, dst = out.floatPointer
            for index in 0..<pooled.count {
                let c = index / plane % channels
                let y = (src[index] - center[c]) * scale[c] + shift[c]
                dst[index] = y < 0 ? y * slope : y
            }
        }
        return out
    }
}
