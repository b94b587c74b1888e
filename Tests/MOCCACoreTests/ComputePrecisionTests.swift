import MOCCACore
import Testing

/// bf16 inference: close to float32 where the CPU has native bf16, a clear error where
/// it does not. The suite runs on both paths of an AVX512-BF16 host, since `scripts/test.sh`
/// reruns it with `ONEDNN_MAX_CPU_ISA=AVX2`.
@Suite("Compute precision")
struct ComputePrecisionTests {
    @Test func bf16LinearMatchesFloat32WithinBF16RoundingOrRefusesClearly() throws {
        var generator = RandomGenerator(seed: 11)
        let x = Tensor.normal(shape: [37, 29], using: &generator)
        let weight = Tensor.normal(shape: [13, 29], using: &generator)
        let bias = Tensor.normal(shape: [13], using: &generator)
        let reference = try withoutGradients { try Tensor.linear(x, weight: weight, bias: bias) }.scalars
        guard ComputePrecision.bf16IsNative else {
            #expect(throws: TensorError.self) { try ComputePrecision.run(in: .bf16) { 0 } }
            do { _ = try ComputePrecision.run(in: .bf16) { 0 } } catch {
                #expect("\(error)".contains("AVX512-BF16") && "\(error)".contains(ComputePrecision.isaName), "\(error)")
            }
            return
        }
        let bf16 = try ComputePrecision.run(in: .bf16) { try withoutGradients { try Tensor.linear(x, weight: weight, bias: bias) } }.scalars
        // Each operand keeps 8 significant bits (relative error 2^-9); a sum of 29 products of
        // unit normals has a spread of about sqrt(29): errors stay below 0.1 in absolute terms.
        let worst = zip(reference, bf16).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 0.1, "largest difference \(worst)")
        #expect(worst > 0, "bf16 should round somewhere")
        // A layer recording gradients is left in float32.
        let trainable = weight.detached()
        trainable.requiresGrad = true
        let trained = try ComputePrecision.run(in: .bf16) { try Tensor.linear(x, weight: trainable, bias: bias) }.scalars
        #expect(trained == reference)
    }

    @Test func bf16RoundsToNearestEvenAndKeepsSpecialValues() throws {
        guard ComputePrecision.bf16IsNative else { return }
        // Through a 1×1 identity product: the output is the input rounded to bf16.
        let values: [Float] = [1, 1 + 1.0 / 256, 1 + 3.0 / 512, -2.5, 0, .infinity, 3.1415927]
        let x = try Tensor(shape: [values.count, 1], scalars: values)
        let one = try Tensor(shape: [1, 1], scalars: [1])
        let rounded = try ComputePrecision.run(in: .bf16) { try withoutGradients { try Tensor.linear(x, weight: one) } }.scalars
        // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: to even, 1. 1 + 3·2^-9 rounds up to 1 + 2^-7.
        #expect(rounded[0] == 1 && rounded[1] == 1 && rounded[2] == 1 + 1.0 / 128)
        #expect(rounded[3] == -2.5 && rounded[4] == 0 && rounded[5] == .infinity)
        #expect(rounded[6] == 3.140625)
    }
}
