import CDNNL

/// A stride-1 transposed convolution of a nearest-neighbour ×2 upsampled input, computed on
/// the input's own grid.
///
/// Nearest upsampling repeats every input pixel in a 2×2 block. An output pixel of the
/// transposed convolution therefore sees, through its k×k window, only
/// `K = 2·⌈r/2⌉ + 1` distinct input rows and columns (`r = (k − 1)/2`, the "same" padding),
/// and which taps share an input pixel depends only on the pixel's phase: the parities
/// `(a, b)` of its row and column. Summing those taps gives four K×K kernels, one per
/// phase (``phaseKernels(ofTransposed:phases:)``). They run as one ordinary convolution
/// with four times the output channels on the small input, and ``phasesToSpace(_:)``
/// interleaves the phases into the large output. Zero padding carries over exactly: an
/// upsampled row lies outside the image exactly when its input row does.
///
/// For the 5×5 layers of Deep SVDD's LeNet decoders that is 9 multiply-adds per output and
/// input channel where the upsampled form does 25, in the forward pass and both backward
/// passes, and the upsampled tensor is never written. The result equals
/// `convolutionTranspose2d(upsampleNearest2d(x, factor: 2), …)` to float32 rounding (the
/// taps are summed in another order).
extension Tensor {
    /// `convolutionTranspose2d(upsampleNearest2d(x, factor: 2), weight:, bias:, padding:)`
    /// with stride 1, for `x` `[N, C_in, H, W]` and `weight` `[C_in, C_out, k, k]`: the
    /// output is `[N, C_out, 2H − 1 − 2·padding + k, …]`.
    ///
    /// Where ``UpsamplingPhases`` applies (a square odd kernel of 5 or more with padding
    /// `(k − 1)/2`) it runs on the input's grid; otherwise it upsamples and runs the
    /// transposed convolution. Differentiable with respect to all three operands.
    public static func nearestUpsampledConvolutionTranspose2d(
        _ x: Tensor, weight: Tensor, bias: Tensor? = nil, padding: Int = 0
    ) throws -> Tensor {
        try Validate.rank(weight, 4, "upsampled_conv_transpose2d", "weight [C_in, C_out, kh, kw]")
        guard weight.shape[2] == weight.shape[3], let phases = UpsamplingPhases(kernelSize: weight.shape[2], padding: padding) else {
            return try convolutionTranspose2d(upsampleNearest2d(x, factor: 2), weight: weight, bias: bias, padding: padding)
        }
        let kernels = try phaseKernels(ofTransposed: weight, phases: phases)
        return try phasesToSpace(convolution2d(x, weight: kernels, bias: bias.map(phaseBias), padding: phases.padding))
    }

    /// A transposed convolution's bias `[C_out]` for its phase convolution's `4·C_out`
    /// outputs, whose channel `(2a + b)·C_out + o` is channel `o`. Differentiable.
    public static func phaseBias(_ bias: Tensor) throws -> Tensor {
        try concatenate([bias, bias, bias, bias], alongAxis: 0)
    }

    /// The four phase kernels of a transposed convolution's `weight` `[C_in, C_out, k, k]`
    /// applied after nearest ×2 upsampling: a convolution weight `[4·C_out, C_in, K, K]`
    /// whose output channel `(2a + b)·C_out + o` computes channel `o` at the output pixels
    /// of row parity `a` and column parity `b` (see ``UpsamplingPhases``). Differentiable:
    /// each weight's gradient is the sum of the gradients of the four kernel taps it feeds.
    /// - Throws: ``TensorError/shapeMismatch(op:message:)`` when `weight` is not
    ///   `[C_in, C_out, k, k]` for the phases' kernel size.
    public static func phaseKernels(ofTransposed weight: Tensor, phases: UpsamplingPhases) throws -> Tensor {
        let op = "phase_kernels"
        try Validate.rank(weight, 4, op, "weight [C_in, C_out, k, k]")
        let (inputs, outputs, k) = (weight.shape[0], weight.shape[1], phases.kernelSize)
        guard weight.shape[2] == k, weight.shape[3] == k else {
            throw TensorError.shapeMismatch(op: op, message: "weight \(weight.shape), expected a \(k)×\(k) kernel")
        }
        let (side, taps) = (phases.phaseKernelSize, k * k)
        // cells[p·k² + t]: the element of phase p's kernel that tap t = u·k + v feeds.
        let cells = (0..<4).flatMap { p in (0..<taps).map { t in phases.tap[p / 2][t / k] * side + phases.tap[p % 2][t % k] } }
        // Calls `body(weight, starts, cell)` for each kernel [i, o] of the weight, in parallel
        // over input channels (one thread writes all of an input channel's elements): `weight`
        // is where it starts in the weight, `starts[p]` where phase p's kernel for it starts.
        func forEachKernel(_ body: (_ weight: Int, _ starts: SIMD4<Int>, _ cell: UnsafeBufferPointer<Int>) -> Void) {
            cells.withUnsafeBufferPointer { cell in
                Threads.parallelFor(inputs, minimumPerThread: 8) { range in
                    for i in range {
                        for o in 0..<outputs {
                            let starts = ((SIMD4<Int>(0, 1, 2, 3) &* outputs &+ o) &* inputs &+ i) &* (side * side)
                            body((i * outputs + o) * taps, starts, cell)
                        }
                    }
                }
            }
        }
        let source = try weight.plain()
        let result = Tensor(zeros: [4 * outputs, inputs, side, side])
        withExtendedLifetime(source) {
            let src = source.floatPointer, dst = result.floatPointer
            forEachKernel { from, starts, cell in
                for p in 0..<4 {
                    for t in 0..<taps { dst[starts[p] + cell[p * taps + t]] += src[from + t] }
                }
            }
        }
        return record(result, name: op, inputs: [weight]) { gradient in
            let upstream = try gradient.plain()
            let diff = Tensor(uninitializedShape: weight.shape)
            withExtendedLifetime(upstream) {
                let dy = upstream.floatPointer, dx = diff.floatPointer
                forEachKernel { to, starts, cell in
                    for t in 0..<taps {
                        dx[to + t] = (dy[starts[0] + cell[t]] + dy[starts[1] + cell[taps + t]])
                            + (dy[starts[2] + cell[2 * taps + t]] + dy[starts[3] + cell[3 * taps + t]])
                    }
                }
            }
            return [diff]
        }
    }

    /// Interleaves four phase images into one of twice the height and width: `x`
    /// `[N, 4·C, H, W]` becomes `[N, C, 2H, 2W]`, output pixel `(2m + a, 2j + b)` of channel
    /// `c` taking input channel `(2a + b)·C + c` at `(m, j)`.
    ///
    /// PyTorch's `pixel_shuffle` with factor 2 does the same with the channels ordered
    /// `4·c + 2a + b`; phase-major order keeps each phase's channels in whole blocks of
    /// oneDNN's blocked layouts, so the copy moves whole vectors. Channel-blocked
    /// (`aBcd8b`/`aBcd16b`, when `C` is a multiple of the block), channels-last and plain
    /// inputs keep their layout; others are made plain first. Differentiable: the gradient
    /// is the inverse rearrangement.
    /// - Throws: ``TensorError/shapeMismatch(op:message:)`` unless the channels are a multiple of 4.
    public static func phasesToSpace(_ x: Tensor) throws -> Tensor {
        let op = "phases_to_space"
        try Validate.rank(x, 4, op, "input [N, 4·C, H, W]")
        try Validate.nonEmptyBatch(x, op)
        guard x.shape[1] % 4 == 0 else {
            throw TensorError.shapeMismatch(op: op, message: "\(x.shape[1]) channels are not four phases of equal size")
        }
        let layout = PhaseLayout(phases: x)
        let source = layout.keepsLayout ? x : try x.plain()
        let out = Tensor(uninitializedShape: layout.spaceShape, descriptor: layout.spaceDescriptor)
        withExtendedLifetime(source) { layout.copy(phases: source.floatPointer, space: out.floatPointer, toSpace: true) }
        return record(out, name: op, inputs: [x]) { gradient in
            let upstream = try DNNL.reorder(gradient, to: out.memoryDescriptor)
            let diff = Tensor(uninitializedShape: x.shape, descriptor: layout.keepsLayout ? x.descriptor : nil)
            withExtendedLifetime(upstream) { layout.copy(phases: diff.floatPointer, space: upstream.floatPointer, toSpace: false) }
            return [diff]
        }
    }
}

/// How a transposed convolution with a square kernel and "same" padding splits into four
/// phase kernels after nearest ×2 upsampling (``Tensor/nearestUpsampledConvolutionTranspose2d(_:weight:bias:padding:)``).
///
/// Transposed convolution with stride 1 and padding `p` computes
/// `out[Y] = Σ_u up[Y + p − u]·w[u]` along each axis, and `up[Y] = in[⌊Y/2⌋]`. For
/// `Y = 2m + a`, tap `u` reads `in[m + ⌊(a + p − u)/2⌋]`: the offset runs over
/// `−⌈r/2⌉ … ⌈r/2⌉` for `p = r = (k − 1)/2`, a window of `K = 2·⌈r/2⌉ + 1` with padding
/// `⌈r/2⌉` on the input grid.
public struct UpsamplingPhases: Hashable, Sendable {
    /// The transposed convolution's kernel size `k`.
    public let kernelSize: Int
    /// The side `K` of each phase kernel, on the input's grid.
    public let phaseKernelSize: Int
    /// The padding of the phase convolution on each side.
    public let padding: Int
    /// `tap[a][u]`: the phase-kernel row (or column) that kernel tap `u` lands on for output
    /// rows (or columns) of parity `a`.
    let tap: [[Int]]

    /// The phases of a `kernelSize`-square transposed convolution with `padding`, or nil
    /// unless the kernel is odd, the padding keeps the size (`(k − 1)/2`) and the phase
    /// kernels are smaller than the kernel (k ≥ 5; a 3×3 kernel gives 3×3 phase kernels, no
    /// fewer multiply-adds).
    public init?(kernelSize: Int, padding: Int) {
        guard kernelSize % 2 == 1, padding == (kernelSize - 1) / 2 else { return nil }
        let reach = (padding + 1) / 2
        guard 2 * reach + 1 < kernelSize else { return nil }
        self.kernelSize = kernelSize
        phaseKernelSize = 2 * reach + 1
        self.padding = reach
        // ⌊(a + p − u)/2⌋ + reach, with floor division for negative numerators.
        tap = (0...1).map { a in (0..<kernelSize).map { u in
            let offset = a + padding - u
            return (offset >= 0 ? offset / 2 : -((1 - offset) / 2)) + reach
        } }
    }
}

extension PhaseLayout {
    /// Copies `count` runs of `run` floats, `sourceStep` and `targetStep` floats apart: by
    /// vectors for channel blocks, by values for plain layouts (a library call per value
    /// would cost more than the copy), by `memcpy` otherwise.
    @inline(__always)
    static func copyRuns(_ count: Int, of run: Int, from source: UnsafeMutablePointer<Float>, every sourceStep: Int,
                         to target: UnsafeMutablePointer<Float>, every targetStep: Int) {
        if run == 1 {
            for index in 0..<count { target[index * targetStep] = source[index * sourceStep] }
        } else if run % 4 == 0 {
            for index in 0..<count {
                let (a, b) = (source + index * sourceStep, target + index * targetStep)
                for lane in stride(from: 0, to: run, by: 4) { Tensor.store4(Tensor.load4(a + lane), b + lane) }
            }
        } else {
            for index in 0..<count { (target + index * targetStep).update(from: source + index * sourceStep, count: run) }
        }
    }
}

/// Where each element of a four-phase tensor `[N, 4·C, H, W]` and of its interleaved
/// `[N, C, 2H, 2W]` lies, as runs of `run` contiguous floats: a channel block of a
/// channel-blocked layout, one phase's channels of a pixel in channels-last, or a single
/// value in plain layout.
private struct PhaseLayout {
    let batch, channels, height, width: Int
    /// Floats copied together, and the runs per phase and pixel.
    let run, runsPerPhase: Int
    /// Whether the input keeps its layout (else it is made plain).
    let keepsLayout: Bool
    let spaceDescriptor: MemoryDescriptor?
    /// Strides, in floats, of the phase tensor (image, phase, run, row, column) and of the
    /// interleaved one (image, run, row, column).
    let phaseStrides: (image: Int, phase: Int, run: Int, row: Int, column: Int)
    let spaceStrides: (image: Int, run: Int, row: Int, column: Int)

    var spaceShape: [Int] { [batch, channels, 2 * height, 2 * width] }

    init(phases x: Tensor) {
        (batch, channels, height, width) = (x.shape[0], x.shape[1] / 4, x.shape[2], x.shape[3])
        let (h, w, c) = (height, width, channels)
        let spaceShape = [batch, c, 2 * h, 2 * w]
        if let block = x.channelBlock, c % block == 0 {
            (run, runsPerPhase, keepsLayout) = (block, c / block, true)
            spaceDescriptor = MemoryDescriptor(channelBlocked: spaceShape, block: block)
            let plane = h * w * block
            phaseStrides = (4 * c * h * w, runsPerPhase * plane, plane, w * block, block)
            spaceStrides = (4 * c * h * w, 4 * plane, 2 * w * block, block)
        } else if let descriptor = x.descriptor, descriptor == MemoryDescriptor(shape: x.shape, tag: dnnl_acdb) {
            (run, runsPerPhase, keepsLayout) = (c, 1, true)
            spaceDescriptor = MemoryDescriptor(shape: spaceShape, tag: dnnl_acdb)
            phaseStrides = (4 * c * h * w, c, 0, w * 4 * c, 4 * c)
            spaceStrides = (4 * c * h * w, 0, 2 * w * c, c)
        } else {
            (run, runsPerPhase, keepsLayout) = (1, c, x.isPlain)
            spaceDescriptor = nil
            phaseStrides = (4 * c * h * w, c * h * w, h * w, w, 1)
            spaceStrides = (4 * c * h * w, 4 * h * w, 2 * w, 1)
        }
    }

    /// Copies the phase tensor into the interleaved one (`toSpace`) or back, in parallel
    /// over images and runs.
    func copy(phases: UnsafeMutablePointer<Float>, space: UnsafeMutablePointer<Float>, toSpace: Bool) {
        let (p, s, run) = (phaseStrides, spaceStrides, run)
        Threads.parallelFor(batch * runsPerPhase, minimumPerThread: 8) { range in
            for plane in range {
                let (n, r) = plane.quotientAndRemainder(dividingBy: runsPerPhase)
                for phase in 0..<4 {
                    let (a, b) = phase.quotientAndRemainder(dividingBy: 2)
                    for m in 0..<height {
                        let from = n * p.image + phase * p.phase + r * p.run + m * p.row
                        let to = n * s.image + r * s.run + (2 * m + a) * s.row + b * s.column
                        // One row of the phase image: runs `p.column` apart, to runs `2·s.column` apart.
                        let (source, sourceStep) = toSpace ? (phases + from, p.column) : (space + to, 2 * s.column)
                        let (target, targetStep) = toSpace ? (space + to, 2 * s.column) : (phases + from, p.column)
                        Self.copyRuns(width, of: run, from: source, every: sourceStep, to: target, every: targetStep)
                    }
                }
            }
        }
    }
}
