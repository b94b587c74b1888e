import CDNNL
import Foundation

/// The process-wide oneDNN CPU engine and stream, and helpers to create, cache and
/// execute primitives.
///
/// Creating a primitive JIT-compiles a kernel (0.15–0.45 ms on the reference machine),
/// so primitives are cached by a key that spells out every parameter of the op.
enum DNNL {
    /// One engine and one in-order stream for the whole process.
    nonisolated(unsafe) static let engine: dnnl_engine_t = {
        var engine: dnnl_engine_t?
        let status = dnnl_engine_create(&engine, dnnl_cpu, 0)
        guard status == dnnl_success, let engine else { fatalError("oneDNN: no CPU engine (\(status))") }
        return engine
    }()

    /// The calling thread's stream: oneDNN streams are not thread-safe, primitives are.
    static var stream: dnnl_stream_t {
        if let existing = pthread_getspecific(streamKey) { return OpaquePointer(existing) }
        var stream: dnnl_stream_t?
        let status = dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue)
        guard status == dnnl_success, let stream else { fatalError("oneDNN: no stream (\(status))") }
        pthread_setspecific(streamKey, UnsafeRawPointer(stream))
        return stream
    }

    nonisolated(unsafe) private static let streamKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in dnnl_stream_destroy(OpaquePointer(pointer)) }
        return key
    }()

    nonisolated(unsafe) private static var cache: [String: Primitive] = [:]
    private static let cacheLock = NSLock()

    static func check(_ status: dnnl_status_t, _ op: String, _ what: String) throws {
        guard status == dnnl_success else {
            throw TensorError.backend(op: op, message: "\(what) returned oneDNN status \(status.rawValue)")
        }
    }

    /// Returns the cached primitive for `key`, creating it with `makeDescriptor` on a miss.
    static func primitive(
        _ key: String, op: String,
        _ makeDescriptor: () throws -> dnnl_primitive_desc_t
    ) throws -> Primitive {
        // oneDNN's kernels fix their thread count when created (its batch-norm kernels
        // synchronise that many threads with a spin barrier), so a primitive is cached per
        // thread count and always runs with the count it was made for.
        let threads = Threads.count
        let fullKey = "\(threads)|\(key)"
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[fullKey] { return cached }
        Threads.applyToCurrentThread(threads)
        let made = try Primitive(descriptor: makeDescriptor(), op: op, threads: threads)
        cache[fullKey] = made
        return made
    }

    /// Primitive attributes asking for a user-managed scratchpad.
    ///
    /// By default oneDNN shares one scratchpad among all primitives, so two threads
    /// running primitives at once corrupt each other's temporaries (its batch-norm kernels
    /// keep their spin barrier there, and hang). Each execution passes its own
    /// scratchpad instead, taken from the buffer pool.
    static func withScratchpadAttributes<R>(_ op: String, _ body: (dnnl_primitive_attr_t) throws -> R) throws -> R {
        var attributes: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attributes), op, "dnnl_primitive_attr_create")
        guard let attributes else { throw TensorError.backend(op: op, message: "no primitive attributes") }
        defer { dnnl_primitive_attr_destroy(attributes) }
        try check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), op, "scratchpad mode")
        return try body(attributes)
    }

    /// Creates a primitive descriptor from an op descriptor (the oneDNN 2.x API).
    /// `configure` adds attributes beyond the user-managed scratchpad (post-ops, say).
    static func makeDescriptor<Desc>(
        _ desc: inout Desc, op: String, hint: Primitive? = nil,
        configure: ((dnnl_primitive_attr_t) throws -> Void)? = nil
    ) throws -> dnnl_primitive_desc_t {
        var pd: dnnl_primitive_desc_t?
        let status = try withScratchpadAttributes(op) { attributes in
            try configure?(attributes)
            return withUnsafePointer(to: &desc) { pointer in
                dnnl_primitive_desc_create(&pd, UnsafeRawPointer(pointer), attributes, engine, hint?.descriptor)
            }
        }
        try check(status, op, "dnnl_primitive_desc_create")
        guard let pd else { throw TensorError.backend(op: op, message: "no primitive descriptor") }
        return pd
    }

    /// Copies `tensor` into layout `target` (a no-op when it already has that layout).
    static func reorder(_ tensor: Tensor, to target: MemoryDescriptor) throws -> Tensor {
        let source = tensor.memoryDescriptor
        if source == target { return tensor }
        let key = "reorder|\(source.key)|\(target.key)"
        let reorder = try primitive(key, op: "reorder") {
            var pd: dnnl_primitive_desc_t?
            var src = source.raw, dst = target.raw
            try withScratchpadAttributes("reorder") { attributes in
                try check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, attributes),
                          "reorder", "dnnl_reorder_primitive_desc_create")
            }
            guard let pd else { throw TensorError.backend(op: "reorder", message: "no descriptor") }
            return pd
        }
        let output = Tensor(uninitializedShape: tensor.shape, descriptor: target)
        try reorder.execute([
            (DNNL_ARG_FROM, tensor, source),
            (DNNL_ARG_TO, output, target),
        ], op: "reorder")
        return output
    }
}

/// A compiled oneDNN primitive with its descriptor.
final class Primitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    /// The OpenMP thread count the primitive was created for, and must run with.
    let threads: Int

    /// The size of the scratchpad each execution needs (zero for none).
    let scratchpad: MemoryDescriptor

    init(descriptor: dnnl_primitive_desc_t, op: String, threads: Int) throws {
        self.threads = threads
        self.scratchpad = MemoryDescriptor(raw: dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)?.pointee ?? dnnl_memory_desc_t())
        var primitive: dnnl_primitive_t?
        let status = dnnl_primitive_create(&primitive, descriptor)
        guard status == dnnl_success, let primitive else {
            dnnl_primitive_desc_destroy(descriptor)
            throw TensorError.backend(op: op, message: "dnnl_primitive_create returned \(status.rawValue)")
        }
        self.descriptor = descriptor
        self.primitive = primitive
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The memory descriptor the primitive chose for a query (`dnnl_query_src_md`, ...).
    func descriptor(_ query: dnnl_query_t, index: Int32 = 0) -> MemoryDescriptor {
        // oneDNN answers a query it has no descriptor for with an empty one (ndims 0).
        MemoryDescriptor(raw: dnnl_primitive_desc_query_md(descriptor, query, index)?.pointee ?? dnnl_memory_desc_t())
    }

    /// Whether the primitive uses a workspace (max pooling's argmax indices, for example).
    var workspace: MemoryDescriptor? {
        let md = descriptor(dnnl_query_workspace_md)
        return md.raw.ndims == 0 ? nil : md
    }

    /// Runs the primitive on tensors' buffers, each described by its memory descriptor.
    /// The tensors are held until the kernel has finished with their memory.
    func execute(_ arguments: [(Int32, Tensor, MemoryDescriptor)], op: String) throws {
        var arguments = arguments
        let scratchpadBytes = scratchpad.raw.ndims == 0 ? 0 : scratchpad.byteCount
        if scratchpadBytes > 0 {
            let scratch = Tensor(shape: [scratchpadBytes], storage: TensorStorage(byteCount: scratchpadBytes, zeroed: false))
            arguments.append((DNNL_ARG_SCRATCHPAD, scratch, scratchpad))
        }
        var memories: [dnnl_memory_t?] = []
        memories.reserveCapacity(arguments.count)
        defer { for memory in memories { dnnl_memory_destroy(memory) } }
        var execArgs: [dnnl_exec_arg_t] = []
        execArgs.reserveCapacity(arguments.count)
        for (arg, tensor, md) in arguments {
            var memory: dnnl_memory_t?
            var raw = md.raw
            try DNNL.check(dnnl_memory_create(&memory, &raw, DNNL.engine, tensor.rawPointer), op, "dnnl_memory_create")
            memories.append(memory)
            execArgs.append(dnnl_exec_arg_t(arg: Int32(arg), memory: memory))
        }
        Threads.applyToCurrentThread(threads)
        try DNNL.check(dnnl_primitive_execute(primitive, DNNL.stream, Int32(execArgs.count), execArgs),
                       op, "dnnl_primitive_execute")
        try DNNL.check(dnnl_stream_wait(DNNL.stream), op, "dnnl_stream_wait")
        withExtendedLifetime(arguments) {}
    }
}
