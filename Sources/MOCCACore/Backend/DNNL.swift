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
        cacheLock.lock()
        defer { cacheLock.unlock() }
        if let cached = cache[key] { return cached }
        let made = try Primitive(descriptor: makeDescriptor(), op: op)
        cache[key] = made
        return made
    }

    /// Creates a primitive descriptor from an op descriptor (the oneDNN 2.x API).
    static func makeDescriptor<Desc>(
        _ desc: inout Desc, op: String, hint: Primitive? = nil
    ) throws -> dnnl_primitive_desc_t {
        var pd: dnnl_primitive_desc_t?
        let status = withUnsafePointer(to: &desc) { pointer in
            dnnl_primitive_desc_create(&pd, UnsafeRawPointer(pointer), nil, engine, hint?.descriptor)
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
            try check(dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, nil),
                      "reorder", "dnnl_reorder_primitive_desc_create")
            guard let pd else { throw TensorError.backend(op: "reorder", message: "no descriptor") }
            return pd
        }
        let output = Tensor(uninitializedShape: tensor.shape, descriptor: target)
        try reorder.execute([
            (DNNL_ARG_FROM, tensor.rawPointer, source),
            (DNNL_ARG_TO, output.rawPointer, target),
        ], op: "reorder")
        return output
    }
}

/// A compiled oneDNN primitive with its descriptor.
final class Primitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t

    init(descriptor: dnnl_primitive_desc_t, op: String) throws {
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
        let md = dnnl_primitive_desc_query_md(descriptor, query, index)!
        return MemoryDescriptor(raw: md.pointee)
    }

    /// Whether the primitive uses a workspace (max pooling's argmax indices, for example).
    var workspace: MemoryDescriptor? {
        let md = descriptor(dnnl_query_workspace_md)
        return md.raw.ndims == 0 ? nil : md
    }

    /// Runs the primitive on raw buffers, each described by its memory descriptor.
    func execute(_ arguments: [(Int32, UnsafeMutableRawPointer, MemoryDescriptor)], op: String) throws {
        var memories: [dnnl_memory_t?] = []
        memories.reserveCapacity(arguments.count)
        defer { for memory in memories { dnnl_memory_destroy(memory) } }
        var execArgs: [dnnl_exec_arg_t] = []
        execArgs.reserveCapacity(arguments.count)
        for (arg, pointer, md) in arguments {
            var memory: dnnl_memory_t?
            var raw = md.raw
            try DNNL.check(dnnl_memory_create(&memory, &raw, DNNL.engine, pointer), op, "dnnl_memory_create")
            memories.append(memory)
            execArgs.append(dnnl_exec_arg_t(arg: Int32(arg), memory: memory))
        }
        Threads.applyToCurrentThread()
        try DNNL.check(dnnl_primitive_execute(primitive, DNNL.stream, Int32(execArgs.count), execArgs),
                       op, "dnnl_primitive_execute")
        try DNNL.check(dnnl_stream_wait(DNNL.stream), op, "dnnl_stream_wait")
    }
}
