import CDNNL
import COpenBLAS
import Dispatch
import Foundation

/// The number of threads that every backend uses: oneDNN (OpenMP), OpenBLAS and the
/// element-wise loops written in Swift.
///
/// The default is the `MOCCA_THREADS` environment variable when set, else all cores.
public enum Threads {
    nonisolated(unsafe) private static var current: Int = {
        let fromEnvironment = ProcessInfo.processInfo.environment["MOCCA_THREADS"].flatMap { Int($0) }
        return max(1, fromEnvironment ?? ProcessInfo.processInfo.activeProcessorCount)
    }()
    nonisolated(unsafe) private static var openBLASCount = 0
    private static let lock = NSLock()

    /// The thread count in force; setting it reconfigures every backend.
    public static var count: Int {
        get { lock.withLock { current } }
        set {
            lock.withLock { current = max(1, newValue) }
            applyToCurrentThread()
        }
    }

    private typealias SetThreads = @convention(c) (Int32) -> Void

    /// oneDNN threads through libgomp, which it loads itself; omp_set_num_threads is
    /// reached at run time so that the package needs no link against GCC's private directory.
    nonisolated(unsafe) private static let setOpenMPThreads: SetThreads? = {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads").map { unsafeBitCast($0, to: SetThreads.self) }
    }()

    /// The count last applied to each thread's OpenMP settings (plus one; zero means never).
    private static let appliedKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// OpenMP's thread count is a per-thread setting: apply the current count to the
    /// calling thread before it starts oneDNN or OpenBLAS work, if it has not seen it yet.
    static func applyToCurrentThread(_ count: Int? = nil) {
        let value = count ?? Threads.count
        lock.withLock {
            if openBLASCount != value {
                openblas_set_num_threads(Int32(value))
                openBLASCount = value
            }
        }
        let applied = Int(bitPattern: pthread_getspecific(appliedKey)) - 1
        guard applied != value else { return }
        setOpenMPThreads?(Int32(value))
        pthread_setspecific(appliedKey, UnsafeRawPointer(bitPattern: value + 1))
    }
}

/// Splits `0..<count` into one contiguous chunk per thread (``Threads/count``) and runs `body` on each.
/// Small ranges run inline: thread start-up would cost more than it saves.
public func parallelFor(_ count: Int, minimumPerThread: Int = 16_384, _ body: (Range<Int>) -> Void) {
    let threads = min(Threads.count, max(1, count / minimumPerThread))
    if threads <= 1 {
        body(0..<count)
        return
    }
    let chunk = (count + threads - 1) / threads
    DispatchQueue.concurrentPerform(iterations: threads) { index in
        let start = index * chunk
        let end = min(count, start + chunk)
        if start < end { body(start..<end) }
    }
}
