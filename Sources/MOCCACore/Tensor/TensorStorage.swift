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
        let buffer = BufferPool.shared.take(BufferPool.sizeClass(max(byteCount, 64)))
        self.pointer = buffer.pointer
        self.byteCount = byteCount
        self.capacity = buffer.capacity
        if zeroed { memset(pointer, 0, max(byteCount, 64)) }
    }

    deinit { BufferPool.shared.give(pointer, size: capacity) }

    var floats: UnsafeMutablePointer<Float> { pointer.assumingMemoryBound(to: Float.self) }
}

/// A cache of freed buffers by size class. Training repeats the same shapes every step,
/// so reuse hits almost always; size classes (four per power of two) let nearby sizes
/// share buffers instead of each caching its own.
///
/// The cache never makes the pooled buffers, in use and cached together, exceed
/// ``headroom`` times the most that were in use at once since the last ``drain()`` (the
/// working set's peak): a miss that would go beyond it first returns the longest-cached
/// buffers to the system. A fixed cap alone let buffers of sizes no longer asked for pile
/// up next to the working set: an MTD run (64-px grey patches, batch 32) peaked at 1.44 GB
/// with 1 GiB of them cached while scoring needed about 300 MB. ``limit`` still caps the
/// cache, and ``drain()`` empties it between phases whose shapes differ.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()

    /// The most bytes kept for reuse; larger surpluses go back to the system. A training
    /// step at batch 128 frees about 300 MB that the next step needs again; a smaller cap
    /// makes every step fault fresh pages in (5% of the step). Phases drain the cache when
    /// they end, so this bounds one phase's working set, not a sum of them.
    let limit: Int
    /// How far beyond the working set's peak the pooled bytes may go. A step frees buffers
    /// of one size while it still needs others, so in use plus cached exceeds the peak in
    /// use even when every cached buffer is reused next step: held to the peak itself
    /// (headroom 1), the pool unmapped and mapped again every step, and one-class training
    /// on CIFAR-10 (`mocca speed one-class --batch 128 --threads 2`) fell from 2,330 to
    /// 1,270–1,420 images/s; at 1.25 still 1,470–1,530. At 2 it ran at 2,340 again. With the
    /// graph keeping only what backward passes read and ``largestReuse``, an MTD training
    /// run (`README.md`, memory) peaks at 0.75 GB resident.
    static let headroom = 2

    /// Buffers smaller than this come straight from malloc, which already caches them well.
    /// Larger ones are mapped from the kernel directly: malloc would serve them from its heap
    /// once its dynamic mmap threshold has grown, and a heap fragmented by one phase's
    /// tensors never shrinks, so the process would keep every phase's peak.
    static let minimumSize = 64 << 10
    /// Cached buffers per size class, each with the stamp of when it was cached: reuse takes
    /// the newest (its pages are likeliest still in the CPU's caches), eviction the oldest.
    private var available: [Int: [(pointer: UnsafeMutableRawPointer, stamp: Int)]] = [:]
    private var stamp = 0
    /// Bytes of pooled buffers cached, and in use (handed out and not yet given back).
    private(set) var cachedBytes = 0, liveBytes = 0
    /// The most bytes of pooled buffers in use at once since the last drain.
    private(set) var peakLiveBytes = 0
    /// Heap-allocated: a pthread mutex must not move.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        return mutex
    }()

    /// A pool caching at most `limit` bytes (tests make small ones; the process shares ``shared``).
    init(limit: Int = 1 << 30) { self.limit = limit }

    /// Pooled bytes mapped from the system: in use and cached.
    var mappedBytes: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return liveBytes + cachedBytes
    }

    /// A buffer of at least `size` bytes (a size class), and its capacity: the size to
    /// give back. A miss in the size's own class takes the smallest cached buffer of up to
    /// ``largestReuse`` times the size before it maps a new one: a training epoch's last,
    /// smaller batch then runs in the full batches' buffers. Mapping new ones for it took
    /// an MTD run (batches of 32 and a last one of 24) from 0.71 to 1.05 GB resident.
    func take(_ size: Int) -> (pointer: UnsafeMutableRawPointer, capacity: Int) {
        if size >= Self.minimumSize {
            pthread_mutex_lock(mutex)
            if let capacity = cachedClass(fitting: size), let reused = available[capacity]?.popLast() {
                cachedBytes -= capacity
                liveBytes += capacity
                peakLiveBytes = max(peakLiveBytes, liveBytes)
                pthread_mutex_unlock(mutex)
                return (reused.pointer, capacity)
            }
            liveBytes += size
            peakLiveBytes = max(peakLiveBytes, liveBytes)
            // A fresh buffer: first give back the oldest cached ones that would take the
            // mapped bytes beyond the working set's peak and its headroom.
            var evicted: [(UnsafeMutableRawPointer, Int)] = []
            while liveBytes + cachedBytes > Self.headroom * peakLiveBytes, let victim = oldestCached() {
                evicted.append(victim)
            }
            pthread_mutex_unlock(mutex)
            for (pointer, bytes) in evicted { munmap(pointer, bytes) }
            // Page-aligned, so 64-byte aligned too.
            guard let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
                  mapped != MAP_FAILED else {
                fatalError("out of memory mapping \(size) bytes")
            }
            return (mapped, size)
        }
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, size) == 0, let raw else {
            fatalError("out of memory allocating \(size) bytes")
        }
        return (raw, size)
    }

    /// How much larger than asked a reused buffer may be.
    static let largestReuse = 2

    /// The class of the cached buffer a request of `size` takes: its own when one is
    /// cached, else the smallest cached class up to ``largestReuse`` times larger (the
    /// caller holds the mutex). A linear search over the classes, on misses only.
    private func cachedClass(fitting size: Int) -> Int? {
        if available[size]?.isEmpty == false { return size }
        var best: Int?
        for (capacity, buffers) in available where capacity > size && capacity <= Self.largestReuse * size && !buffers.isEmpty {
            if capacity < best ?? .max { best = capacity }
        }
        return best
    }

    /// Removes the longest-cached buffer from the cache (the caller holds the mutex and
    /// unmaps it). A linear search over the size classes: a network has a few dozen.
    private func oldestCached() -> (UnsafeMutableRawPointer, Int)? {
        var oldest: (size: Int, stamp: Int)?
        for (size, buffers) in available {
            if let first = buffers.first, first.stamp < oldest?.stamp ?? .max { oldest = (size, first.stamp) }
        }
        guard let size = oldest?.size, let victim = available[size]?.removeFirst() else { return nil }
        cachedBytes -= size
        return (victim.pointer, size)
    }

    private func release(_ pointer: UnsafeMutableRawPointer, size: Int) {
        if size >= Self.minimumSize { munmap(pointer, size) } else { free(pointer) }
    }

    /// `size` rounded up to its class: a multiple of a quarter of its highest power of two
    /// (at most 25% more), for sizes the cache keeps; others are returned as they are.
    static func sizeClass(_ size: Int) -> Int {
        guard size >= minimumSize else { return size }
        let granule = 1 << (Int.bitWidth - size.leadingZeroBitCount - 3)
        return (size + granule - 1) & ~(granule - 1)
    }

    /// Frees every cached buffer, and starts a new working-set peak from the buffers in use.
    func drain() {
        pthread_mutex_lock(mutex)
        let buffers = available.flatMap { size, entries in entries.map { (size, $0.pointer) } }
        available = [:]
        cachedBytes = 0
        peakLiveBytes = liveBytes
        pthread_mutex_unlock(mutex)
        for (size, pointer) in buffers { release(pointer, size: size) }
    }

    func give(_ pointer: UnsafeMutableRawPointer, size: Int) {
        if size >= Self.minimumSize {
            pthread_mutex_lock(mutex)
            liveBytes -= size
            if cachedBytes + size <= limit {
                stamp += 1
                available[size, default: []].append((pointer, stamp))
                cachedBytes += size
                pthread_mutex_unlock(mutex)
                return
            }
            pthread_mutex_unlock(mutex)
        }
        release(pointer, size: size)
    }
}

extension Tensor {
    /// Returns the buffers that freed tensors left for reuse to the system. Call it between
    /// phases whose tensor sizes differ (training, then scoring at another batch size), so
    /// that memory holds one phase's working set rather than the sum of them.
    public static func releaseCachedBuffers() {
        BufferPool.shared.drain()
    }
}
