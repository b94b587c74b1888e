import CDNNL
import CKernels

/// 2×2 max pooling and ×2 nearest upsampling on oneDNN's channel-blocked layouts, written
/// as vector loops: the pooling in C (`CKernels`, compiled for AVX-512, AVX2 and baseline
/// x86-64 and chosen at run time, `ComputeHost.kernelISA`), the upsampling in Swift.
///
/// In `aBcd8b`/`aBcd16b` a pixel's channels of one block are contiguous, so a 2×2 window
/// is four contiguous vectors. oneDNN 2.6's AVX2 max pooling runs at a third of its
/// inference speed when it must also write the argmax workspace for training, and its
/// resampling is memory-bound at a third of these loops' speed; both are in every
/// training step of the LeNet autoencoders.
extension Tensor {
    /// The channel block (8 or 16) when this tensor is in oneDNN's dense channel-blocked
    /// layout `aBcd8b`/`aBcd16b`, the layout convolutions and BatchNorm hand on.
    var channelBlock: Int? { rank == 4 ? descriptor?.channelBlock : nil }

    /// 2×2 max pooling with stride 2 of a channel-blocked `x` with even height and width,
    /// followed by a leaky ReLU of slope `leakySlope` when one is given.
    /// Ties and NaNs go as in PyTorch: the first maximum in the window wins; NaN wins.
    ///
    /// The leaky ReLU is applied as the maximum is stored, and its derivative as the
    /// gradient is routed: the same values as oneDNN's eltwise pass after the pool, forward
    /// and backward, without its two passes over the pooled map or that map's second copy.
    static func maxPool2x2(_ x: Tensor, block: Int, outShape: [Int], leakySlope: Float? = nil) -> Tensor {
        let windows = BlockedWindows(fineShape: x.shape, coarseShape: outShape, block: block)
        let out = Tensor(uninitializedShape: outShape, descriptor: windows.coarseDescriptor)
        let training = GradientMode.isEnabled && x.requiresGrad
        // The window position (0...3) of each output element's maximum, plus 4 where the
        // maximum is above zero (the leaky ReLU's derivative is 1 there, the slope elsewhere).
        let argmax = training ? TensorStorage(byteCount: windows.coarseCount * MemoryLayout<Int32>.stride, zeroed: false) : nil
        let (height, width) = (outShape[2], outShape[3])
        // Elements per plane (a sample's channel block) of the input and of the output.
        let (fine, coarse) = (4 * height * width * block, height * width * block)
        let (activate, slope): (Int32, Float) = leakySlope.map { (1, $0) } ?? (0, 0)
        withExtendedLifetime(x) {
            let src = x.floatPointer, dst = out.floatPointer
            let positions = argmax?.pointer.assumingMemoryBound(to: Int32.self)
            Threads.parallelFor(windows.planes, minimumPerThread: 8) { planes in
                mocca_max_pool_2x2(ComputeHost.kernelISA, src + planes.lowerBound * fine, dst + planes.lowerBound * coarse,
                                   positions.map { $0 + planes.lowerBound * coarse }, planes.count, height, width, block, activate, slope)
            }
        }
        guard let argmax else { return out }
        return record(out, name: leakySlope == nil ? "max_pool2d" : "max_pool2d_leaky_relu", inputs: [x]) { gradient in
            let upstream = try DNNL.reorder(gradient, to: windows.coarseDescriptor)
            let diffSrc = Tensor(uninitializedShape: x.shape, descriptor: x.descriptor)
            withExtendedLifetime((upstream, argmax)) {
                let dy = upstream.floatPointer, dx = diffSrc.floatPointer
                let positions = argmax.pointer.assumingMemoryBound(to: Int32.self)
                // Every input element belongs to one window, so each is written once.
                Threads.parallelFor(windows.planes, minimumPerThread: 8) { planes in
                    mocca_max_pool_2x2_backward(ComputeHost.kernelISA, dy + planes.lowerBound * coarse, positions + planes.lowerBound * coarse,
                                                dx + planes.lowerBound * fine, planes.count, height, width, block, activate, slope)
                }
            }
            return [diffSrc]
        }
    }

    /// Nearest-neighbour ×2 upsampling of a channel-blocked `x`: each input vector is
    /// written to its four output positions, and its gradient is the sum of theirs.
    static func upsample2x(_ x: Tensor, block: Int, outShape: [Int]) -> Tensor {
        let windows = BlockedWindows(fineShape: outShape, coarseShape: x.shape, block: block)
        let out = Tensor(uninitializedShape: outShape, descriptor: windows.fineDescriptor)
        withExtendedLifetime(x) {
            let src = x.floatPointer, dst = out.floatPointer
            let (right, below) = (windows.block, windows.row)
            windows.forEach { fine, coarse in
                let value = load4(src + coarse)
                store4(value, dst + fine)
                store4(value, dst + fine + right)
                store4(value, dst + fine + below)
                store4(value, dst + fine + below + right)
            }
        }
        return record(out, name: "upsample_nearest2d", inputs: [x]) { gradient in
            let upstream = try DNNL.reorder(gradient, to: windows.fineDescriptor)
            let diffSrc = Tensor(uninitializedShape: x.shape, descriptor: x.descriptor)
            withExtendedLifetime(upstream) {
                let dy = upstream.floatPointer, dx = diffSrc.floatPointer
                let (right, below) = (windows.block, windows.row)
                windows.forEach { fine, coarse in
                    store4((load4(dy + fine) + load4(dy + fine + right)) + (load4(dy + fine + below) + load4(dy + fine + below + right)),
                           dx + coarse)
                }
            }
            return [diffSrc]
        }
    }

    // Four-lane vectors throughout: wider ones are split element by element on the
    // baseline x86-64 target that the package compiles for.
    @inline(__always)
    static func load4(_ pointer: UnsafeMutablePointer<Float>) -> SIMD4<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD4<Float>.self)
    }

    @inline(__always)
    static func store4(_ value: SIMD4<Float>, _ pointer: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD4<Float>.self)
    }
}

/// The 2×2 windows of a channel-blocked "fine" tensor and the matching elements of its
/// half-size "coarse" counterpart (same batch and channels, half the height and width).
struct BlockedWindows {
    let fineShape: [Int]
    let coarseShape: [Int]
    let block: Int
    /// Batch × channel blocks: the independent planes.
    let planes: Int

    init(fineShape: [Int], coarseShape: [Int], block: Int) {
        self.fineShape = fineShape
        self.coarseShape = coarseShape
        self.block = block
        planes = fineShape[0] * ((fineShape[1] + block - 1) / block)
    }

    var fineDescriptor: MemoryDescriptor { MemoryDescriptor(channelBlocked: fineShape, block: block) }
    var coarseDescriptor: MemoryDescriptor { MemoryDescriptor(channelBlocked: coarseShape, block: block) }
    /// Elements of the coarse tensor, channel padding included.
    var coarseCount: Int { planes * coarseShape[2] * coarseShape[3] * block }
    /// Elements between two rows of the fine tensor.
    var row: Int { fineShape[3] * block }

    /// Calls `body(fine, coarse)` for every window, four lanes at a time, in parallel over
    /// planes: `fine` is the offset of the window's top-left lanes in the fine tensor (the
    /// others are `+ block`, `+ row` and `+ row + block`), `coarse` that of the matching
    /// lanes in the coarse tensor.
    @inline(__always)
    func forEach(_ body: (_ fine: Int, _ coarse: Int) -> Void) {
        let (height, width, block) = (coarseShape[2], coarseShape[3], block)
        Threads.parallelFor(planes, minimumPerThread: 8) { range in
            for plane in range {
                for i in 0..<height {
                    for j in 0..<width {
                        let fine = ((plane * 2 * height + 2 * i) * 2 * width + 2 * j) * block
                        let coarse = ((plane * height + i) * width + j) * block
                        for lane in stride(from: 0, to: block, by: 4) { body(fine + lane, coarse + lane) }
                    }
                }
            }
        }
    }
}

extension MemoryDescriptor {
    /// A rank-4 descriptor in oneDNN's channel-blocked layout: `aBcd8b` or `aBcd16b`.
    init(channelBlocked shape: [Int], block: Int) {
        self.init(shape: shape, tag: block == 8 ? dnnl_aBcd8b : dnnl_aBcd16b)
    }

    /// The channel block (8 or 16) when this is the dense channel-blocked layout of its
    /// rank-4 shape, `aBcd8b`/`aBcd16b`; nil otherwise.
    var channelBlock: Int? {
        guard shape.count == 4 else { return nil }
        return [8, 16].first { self == MemoryDescriptor(channelBlocked: shape, block: $0) }
    }
}
