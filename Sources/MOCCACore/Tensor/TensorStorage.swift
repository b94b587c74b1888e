#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A 64-byte aligned buffer of raw bytes that one or more tensors view.
///
/// The alignment suits AVX-512 loads in oneDNN's kernels. Zeroing is optional: a buffer
/// that a kernel overwrites entirely need not be cleared first (clearing a 16 MB
/// activation costs milliseconds per training step). Freed buffers go back to a
/// ``BufferPool`` so that the next training step reuses them instead of faulting in
/// fresh pages from the kernel.
final class TensorStorage {
    let pointer: UnsafeMutableRawPointer
    let byteCount: Int
    private let capacity: Int

    init(byteCount: Int, zeroed: Bool = true) {
        let size = max(byteCount, 64)
        self.pointer = BufferPool.shared.take(size)
        self.byteCount = byteCount
        self.capacity = size
        if zeroed { memset(pointer, 0, size) }
    }

    deinit { BufferPool.shared.give(pointer, size: capacity) }

    var floats: UnsafeMutablePointer<Float> { pointer.assumingMemoryBound(to: Float.self) }
}

/// A cache of freed buffers by exact size. Training repeats the same shapes every step,
/// so exact-size reuse hits almost always; the cache is bounded so that it never holds
/// more than ``limit`` bytes that nobody uses.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()

    /// The most bytes kept for reuse; larger surpluses go back to the system.
    let limit = 256 << 20
    /// Buffers smaller than this come straight from malloc, which already caches them well.
    let minimumSize = 64 << 10
    private var available: [Int: [UnsafeMutableRawPointer]] = [:]
    private var cachedBytes = 0
    /// Heap-allocated: a pthread mutex must not move.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        return mutex
    }()

    private init() {}

    func take(_ size: Int) -> UnsafeMutableRawPointer {
        if size >= minimumSize {
            pthread_mutex_lock(mutex)
            if let reused = available[size]?.popLast() {
                cachedBytes -= size
                pthread_mutex_unlock(mutex)
                return reused
            }
            pthread_mutex_unlock(mutex)
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let raw else {
            fatalError("out of memory allocating \(size) bytes")
        }
        return raw
    }

    func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        if size >= minimumSize {
            pthread_mutex_lock(mutex)
            if cachedBytes + size <= limit {
                available[size, default: []].append(pointer)
                cachedBytes += size
                pthread_mutex_unlock(mutex)
                return
            }
            pthread_mutex_unlock(mutex)
        }
        free(pointer)
    }
}
