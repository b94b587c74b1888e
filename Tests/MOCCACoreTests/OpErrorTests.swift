@testable import MOCCACore
import MOCCATestSupport
import Testing

@Suite("Ops reject bad inputs with typed errors")
struct OpErrorTests {
    /// Runs `body`, expects a `TensorError` whose description names `op`, and returns it.
    @discardableResult
    func expectError(op: String, sourceLocation: SourceLocation = #_sourceLocation,
                     _ body: () throws -> Void) -> TensorError? {
        let error = #expect(throws: TensorError.self, sourceLocation: sourceLocation) { try body() }
        if let error {
            #expect(error.description.hasPrefix("\(op):"), "\(error.description)", sourceLocation: sourceLocation)
        }
        return error
    }

    @Test func convolutionWithMismatchedChannelsThrowsShapeMismatch() {
        let error = expectError(op: "conv2d") {
            _ = try Tensor.convolution2d(Tensor(zeros: [1, 3, 8, 8]), weight: Tensor(zeros: [4, 2, 3, 3]))
        }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(error!.description.contains("3 channels"))
    }

    @Test func convolutionOnRankThreeInputThrowsRankMismatch() {
        let error = expectError(op: "conv2d") {
            _ = try Tensor.convolution2d(Tensor(zeros: [3, 8, 8]), weight: Tensor(zeros: [4, 3, 3, 3]))
        }
        guard case .rankMismatch(_, _, let got)? = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(got == [3, 8, 8])
        #expect(error!.description.contains("rank 3"))
    }

    @Test func emptyBatchThrowsEmptyForConvolutionLinearAndBatchNorm() {
        let conv = expectError(op: "conv2d") {
            _ = try Tensor.convolution2d(Tensor(zeros: [0, 3, 8, 8]), weight: Tensor(zeros: [4, 3, 3, 3]))
        }
        guard case .empty? = conv else { Issue.record("conv: got \(String(describing: conv))"); return }
        let transposed = expectError(op: "conv_transpose2d") {
            _ = try Tensor.convolutionTranspose2d(Tensor(zeros: [0, 3, 8, 8]), weight: Tensor(zeros: [3, 4, 3, 3]))
        }
        guard case .empty? = transposed else { Issue.record("conv_transpose: got \(String(describing: transposed))"); return }
        let linear = expectError(op: "linear") {
            _ = try Tensor.linear(Tensor(zeros: [0, 3]), weight: Tensor(zeros: [4, 3]))
        }
        guard case .empty? = linear else { Issue.record("linear: got \(String(describing: linear))"); return }
        let batchNorm = expectError(op: "batch_norm") {
            _ = try Tensor.batchNormalization(Tensor(zeros: [0, 3, 8, 8]), scale: nil, shift: nil,
                                              runningMean: Tensor(zeros: [3]), runningVariance: Tensor(repeating: 1, shape: [3]),
                                              training: true)
        }
        guard case .empty? = batchNorm else { Issue.record("batch norm: got \(String(describing: batchNorm))"); return }
    }

    @Test func batchNormTrainingWithOneValuePerChannelThrows() {
        let mean = Tensor(zeros: [3]), variance = Tensor(repeating: 1, shape: [3])
        for shape in [[1, 3], [1, 3, 1, 1]] {
            let error = expectError(op: "batch_norm") {
                _ = try Tensor.batchNormalization(Tensor(zeros: shape), scale: nil, shift: nil, runningMean: mean,
                                                  runningVariance: variance, training: true)
            }
            guard case .invalidArgument? = error else { Issue.record("\(shape): got \(String(describing: error))"); continue }
        }
        // The running statistics were not touched, and evaluation mode accepts a single value.
        #expect(mean.scalars == [0, 0, 0] && variance.scalars == [1, 1, 1])
        #expect(throws: Never.self) {
            _ = try Tensor.batchNormalization(Tensor(zeros: [1, 3]), scale: nil, shift: nil, runningMean: mean,
                                              runningVariance: variance, training: false)
        }
    }

    @Test func checkFiniteRejectsNaNAndInfinity() throws {
        let nan = try Tensor(shape: [3], scalars: [1, .nan, 2])
        let error = expectError(op: "loss") { try nan.checkFinite("loss") }
        guard case .nonFinite? = error else { Issue.record("got \(String(describing: error))"); return }
        let infinite = try Tensor(shape: [2], scalars: [.infinity, 0])
        expectError(op: "grad") { try infinite.checkFinite("grad") }
        #expect(throws: Never.self) { try Tensor(shape: [2], scalars: [1, 2]).checkFinite("ok") }
    }

    @Test func maxPoolWindowLargerThanInputThrows() {
        let error = expectError(op: "max_pool2d") { _ = try Tensor.maxPool2d(Tensor(zeros: [1, 1, 4, 4]), kernelSize: 5) }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
    }

    @Test func fusedMaxPoolLeakyReluRefusesBadInput() {
        let error = expectError(op: "max_pool2d_leaky_relu") { _ = try Tensor.maxPool2x2LeakyRelu(Tensor(zeros: [1, 1, 4, 4]), slope: -0.1) }
        guard case .invalidArgument? = error else { Issue.record("got \(String(describing: error))"); return }
        expectError(op: "max_pool2d_leaky_relu") { _ = try Tensor.maxPool2x2LeakyRelu(Tensor(zeros: [4, 4])) }
        // A map smaller than the window: the pooling's own error.
        expectError(op: "max_pool2d") { _ = try Tensor.maxPool2x2LeakyRelu(Tensor(zeros: [1, 1, 1, 4])) }
    }

    @Test func concatenateWithMismatchedShapesThrows() {
        let error = expectError(op: "concatenate") {
            _ = try Tensor.concatenate([Tensor(zeros: [2, 3]), Tensor(zeros: [2, 4])], alongAxis: 0)
        }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
        let rank = expectError(op: "concatenate") {
            _ = try Tensor.concatenate([Tensor(zeros: [2, 3]), Tensor(zeros: [2, 3, 1])], alongAxis: 0)
        }
        guard case .shapeMismatch? = rank else { Issue.record("got \(String(describing: rank))"); return }
        let none = expectError(op: "concatenate") { _ = try Tensor.concatenate([], alongAxis: 0) }
        guard case .empty? = none else { Issue.record("got \(String(describing: none))"); return }
    }

    @Test func sliceOutOfRangeThrows() {
        let t = Tensor(zeros: [2, 5])
        let error = expectError(op: "slice") { _ = try t.slice(alongAxis: 1, 3..<6) }
        guard case .invalidArgument? = error else { Issue.record("got \(String(describing: error))"); return }
        let axis = expectError(op: "slice") { _ = try t.slice(alongAxis: 2, 0..<1) }
        guard case .invalidArgument? = axis else { Issue.record("got \(String(describing: axis))"); return }
    }

    @Test func elementwiseOpsOnMismatchedShapesThrow() {
        let error = expectError(op: "add") { _ = try Tensor(zeros: [2, 3]) + Tensor(zeros: [3, 2]) }
        guard case .shapeMismatch? = error else { Issue.record("got \(String(describing: error))"); return }
        expectError(op: "multiply") { _ = try Tensor(zeros: [2]) * Tensor(zeros: [3]) }
        expectError(op: "mse") { _ = try Tensor.meanSquaredError(Tensor(zeros: [2, 3]), Tensor(zeros: [2, 4])) }
    }

    @Test func everyErrorDescriptionNamesItsOp() {
        let errors: [TensorError] = [
            .shapeMismatch(op: "opA", message: "m"), .rankMismatch(op: "opB", expected: "e", got: [1]),
            .empty(op: "opC", message: "m"), .nonFinite(op: "opD", message: "m"),
            .invalidArgument(op: "opE", message: "m"), .backend(op: "opF", message: "m"),
        ]
        for (error, op) in zip(errors, ["opA", "opB", "opC", "opD", "opE", "opF"]) {
            #expect(error.description.hasPrefix("\(op): "), "\(error.description)")
        }
    }
}
