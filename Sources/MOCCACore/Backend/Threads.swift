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
        let initial = max(1, fromEnvironment ?? ProcessInfo.processInfo.activeProcessorCount)
        apply(initial)
        return initial
    }()

    /// The thread count in force; setting it reconfigures every backend.
    public static var count: Int {
        get { current }
        set {
            let value = max(1, newValue)
            current = value
            apply(value)
        }
    }

    private typealias SetThreads = @convention(c) (Int32) -> Void

    private static func apply(_ value: Int) {
        // oneDNN threads through libgomp, which it loads itself; reach omp_set_num_threads
        // at run time so that the package needs no link against GCC's private directory.
        if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "omp_set_num_threads") {
            unsafeBitCast(symbol, to: SetThreads.self)(Int32(value))
        }
        openblas_set_num_threads(Int32(value))
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
