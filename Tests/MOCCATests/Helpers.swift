import Foundation
import MOCCACore
import MOCCAModels
@_exported import MOCCATestSupport
import Testing

/// Whether two doubles agree to `tolerance`.
func isNear(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool {
    abs(a - b) <= tolerance
}

/// Whether two float arrays agree element-wise to `tolerance`.
func isNear(_ a: [Float], _ b: [Float], _ tolerance: Float = 1e-6) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance }
}

// MARK: Hand-made file formats (PNG and the checksums: Tests/Support/ImageFiles.swift)

func littleEndian(_ value: UInt32) -> [UInt8] { bigEndian(value).reversed() }

/// A gzip member holding `bytes` in stored DEFLATE blocks.
func gzipStored(_ bytes: [UInt8]) -> [UInt8] {
    [0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xFF] + storedDeflate(bytes)
        + littleEndian(crc32(bytes)) + littleEndian(UInt32(truncatingIfNeeded: bytes.count))
}

/// An unsigned-byte IDX file: magic `0 0 8 rank`, big-endian dimensions, then the values.
func makeIDX(dimensions: [Int], values: [UInt8]) -> [UInt8] {
    [0, 0, 0x08, UInt8(dimensions.count)] + dimensions.flatMap { bigEndian(UInt32($0)) } + values
}

/// The MNIST LeNet with a given code length, as a configuration names it.
func mnistNetwork(codeLength: Int) -> NetworkSpecification {
    NetworkSpecification(name: "mnist-lenet", configuration: .object(["codeLength": .number(Double(codeLength))]))
}
