#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 64-byte aligned buffer of raw bytes that one or more tensors view.
///
/// The alignment suits AVX-512 loads in oneDNN's kernels. Zeroing is optional: a buffer
/// that a kernel overwrites entirely need not be cleared first (clearing a 16 MB
/// activation costs milliseconds per training step).
final class TensorStorage {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int

    init(byteCount: Int, zeroed: Bool = true) {
        let size = max(byteCount, 64)
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let raw else {
            fatalError("out of memory allocating \(size) bytes")
        }
        if zeroed { memset(raw, 0, size) }
        self.pointer = raw
        self.byteCount = byteCount
    }

    deinit { free(pointer) }

    var floats: UnsafeMutablePointer<Float> { pointer.assumingMemoryBound(to: Float.self) }
}
