import CDNNL
import COpenBLAS
import Dispatch
import Foundation

/// The number of threads that every backend uses: oneDNN (OpenMP), OpenBLAS and the
/// element-wise loops written in Swift.
///
/// The default is the `MOCCA_THREADS` environment variable when set, else all cores.
/// Counts are capped at ``maximum``: libgomp crashes on a team of 100,000 threads, and
/// long before that the threads only compete for the cores.
public enum Threads {
    /// The environment variable that sets the default thread count.
    public static let environmentVariable = "MOCCA_THREADS"

    /// The largest thread count accepted: 4 × the active cores. Beyond a few threads per
    /// core the work is only split finer and the threads queue for the cores (1,024
    /// threads on 2 cores train at about one image per second).
    public static var maximum: Int { 4 * max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// A thread count given as text by `source` (an option or ``environmentVariable``), checked.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` naming `source`, unless the
    ///   text is a whole number from 1 to ``maximum``.
    public static func parse(_ text: String, source: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let count = Int(trimmed) else {
            throw TensorError.invalidArgument(op: source, message: "'\(text)' is not a thread count; expected a whole number from 1 to \(maximum)")
        }
        return try validated(count, source: source)
    }

    /// `count`, checked to be from 1 to ``maximum``.
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` naming `source` otherwise.
    public static func validated(_ count: Int, source: String) throws -> Int {
        guard count >= 1 else {
            throw TensorError.invalidArgument(op: source, message: "the thread count must be at least 1, got \(count)")
        }
        guard count <= maximum else {
            throw TensorError.invalidArgument(op: source, message: "\(count) threads is more than \(maximum) (4 × the \(ProcessInfo.processInfo.activeProcessorCount) cores); more threads than that only slow the work down")
        }
        return count
    }

    /// The thread count ``environmentVariable`` sets, checked; nil when it is not set or
    /// empty (as shells leave a variable set to an unset one).
    /// - Throws: ``TensorError/invalidArgument(op:message:)`` naming the variable when it
    ///   is set to anything but a whole number from 1 to ``maximum``.
    public static func environmentCount() throws -> Int? {
        guard let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty else { return nil }
        return try parse(text, source: environmentVariable)
    }

    // A stored default cannot throw: a bad MOCCA_THREADS falls back to all cores here, and
    // the `mocca` tool rejects it through `environmentCount()` before any work starts.
    nonisolated(unsafe) private static var current: Int = {
        (try? environmentCount()) ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()
    nonisolated(unsafe) private static var openBLASCount = 0
    private static let lock = NSLock()

    /// The thread count in force; setting it reconfigures every backend. A value outside
    /// `1...maximum` is clamped into it (check user input with ``parse(_:source:)`` first).
    /// Within ``$taskCount``'s `withValue`, the task's count instead.
    public static var count: Int {
        get {
            if let taskCount { return clamped(taskCount) }
            return lock.withLock { current }
        }
        set {
            lock.withLock { current = clamped(newValue) }
            applyToCurrentThread()
        }
    }

    /// A thread count for the current task and its child tasks only, over the process's
    /// ``count`` (clamped the same way). Tests that run work at several counts use it
    /// instead of setting ``count``: the test runner runs suites concurrently, and a
    /// process-wide change reached other tests' convolutions mid-run (their weight
    /// gradients then came out of kernels made for another thread count).
    @TaskLocal public static var taskCount: Int?

    /// `value` within `1...maximum`.
    static func clamped(_ value: Int) -> Int { min(maximum, max(1, value)) }

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

extension Threads {
    /// Splits `0..<count` into one contiguous chunk per thread (``Threads/count``) and runs `body` on each.
    /// Small ranges run inline: thread start-up would cost more than it saves.
    ///
    /// The chunks run on OpenMP's thread team, the one oneDNN and OpenBLAS use, when libgomp
    /// is loaded: a second pool (Dispatch) would compete for the cores with OpenMP threads
    /// that spin after every oneDNN call, which costs most on a 2-core machine.
    public static func parallelFor(_ count: Int, minimumPerThread: Int = 16_384, _ body: (Range<Int>) -> Void) {
        let threads = min(Threads.count, max(1, count / minimumPerThread))
        if threads <= 1 {
            body(0..<count)
            return
        }
        if OpenMP.runParallel(count: count, threads: threads, body) { return }
        let chunk = (count + threads - 1) / threads
        DispatchQueue.concurrentPerform(iterations: threads) { index in
            let start = index * chunk
            let end = min(count, start + chunk)
            if start < end { body(start..<end) }
        }
    }
}

/// libgomp's entry points, found at run time like `omp_set_num_threads`.
private enum OpenMP {
    typealias Outlined = @convention(c) (UnsafeMutableRawPointer?) -> Void
    typealias Parallel = @convention(c) (Outlined, UnsafeMutableRawPointer?, UInt32, UInt32) -> Void
    typealias Query = @convention(c) () -> Int32

    nonisolated(unsafe) static let parallel: Parallel? = symbol("GOMP_parallel")
    nonisolated(unsafe) static let threadNumber: Query? = symbol("omp_get_thread_num")
    nonisolated(unsafe) static let teamSize: Query? = symbol("omp_get_num_threads")

    private static func symbol<T>(_ name: String) -> T? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: T.self) }
    }

    /// What each team member needs: the range and the loop body.
    private struct Work {
        let count: Int
        let body: (Range<Int>) -> Void
        let threadNumber: Query
        let teamSize: Query
    }

    /// Runs `body` over `0..<count` on an OpenMP team of up to `threads`; false when
    /// libgomp is not loaded.
    static func runParallel(count: Int, threads: Int, _ body: (Range<Int>) -> Void) -> Bool {
        guard let parallel, let threadNumber, let teamSize else { return false }
        withoutActuallyEscaping(body) { body in
            var work = Work(count: count, body: body, threadNumber: threadNumber, teamSize: teamSize)
            withUnsafeMutablePointer(to: &work) { pointer in
                parallel({ raw in
                    guard let work = raw?.assumingMemoryBound(to: Work.self).pointee else { return }
                    // The team may be smaller than asked for: split by its real size.
                    let size = max(1, Int(work.teamSize())), index = Int(work.threadNumber())
                    let chunk = (work.count + size - 1) / size
                    let start = index * chunk, end = min(work.count, start + chunk)
                    if start < end { work.body(start..<end) }
                }, UnsafeMutableRawPointer(pointer), UInt32(threads), 0)
            }
        }
        return true
    }
}
