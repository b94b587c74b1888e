import CDNNL

/// A oneDNN memory descriptor: the logical dimensions of a tensor plus its physical
/// layout (plain row-major, or a blocked layout such as `nChw16c` chosen by a kernel).
///
/// Equality and hashing compare the descriptor's bytes, so two tensors whose
/// descriptors are equal can be combined element by element without a reorder.
struct MemoryDescriptor: Hashable, @unchecked Sendable {
    var raw: dnnl_memory_desc_t

    init(raw: dnnl_memory_desc_t) { self.raw = raw }

    /// The row-major float32 layout of `shape` (`abcd...`).
    init(plain shape: [Int]) {
        precondition(!shape.isEmpty && shape.count <= 6, "plain descriptors cover ranks 1...6")
        self.init(shape: shape, tag: MemoryDescriptor.plainTag(rank: shape.count))
    }

    /// A descriptor for `shape` with an explicit format tag (`dnnl_format_tag_any` lets a
    /// primitive choose), float32 unless told otherwise.
    init(shape: [Int], tag: dnnl_format_tag_t, dataType: dnnl_data_type_t = dnnl_f32) {
        var md = dnnl_memory_desc_t()
        let dims = shape.map(Int64.init)
        let status = dnnl_memory_desc_init_by_tag(&md, Int32(shape.count), dims, dataType, tag)
        precondition(status == dnnl_success, "dnnl_memory_desc_init_by_tag failed for \(shape)")
        self.raw = md
    }

    static func plainTag(rank: Int) -> dnnl_format_tag_t {
        switch rank {
        case 1: return dnnl_a
        case 2: return dnnl_ab
        case 3: return dnnl_abc
        case 4: return dnnl_abcd
        case 5: return dnnl_abcde
        default: return dnnl_abcdef
        }
    }

    /// Bytes needed to hold a tensor in this layout (blocked layouts may pad).
    var byteCount: Int {
        withUnsafePointer(to: raw) { Int(dnnl_memory_desc_get_size($0)) }
    }

    /// Whether a blocked layout pads some dimension up to its block size.
    var isPadded: Bool {
        withUnsafeBytes(of: raw.dims) { dims in
            withUnsafeBytes(of: raw.padded_dims) { padded in
                let d = dims.bindMemory(to: Int64.self), p = padded.bindMemory(to: Int64.self)
                return (0..<Int(raw.ndims)).contains { d[$0] != p[$0] }
            }
        }
    }

    /// Whether a blocked layout pads a dimension smaller than `limit` up to its block
    /// size: 3 channels stored as 16 (`aBcd16b`), a weight's 3 output channels as 16.
    func padsDimension(below limit: Int) -> Bool {
        withUnsafeBytes(of: raw.dims) { dims in
            withUnsafeBytes(of: raw.padded_dims) { padded in
                let d = dims.bindMemory(to: Int64.self), p = padded.bindMemory(to: Int64.self)
                return (0..<Int(raw.ndims)).contains { d[$0] < limit && d[$0] != p[$0] }
            }
        }
    }

    /// The element type: float32, or bf16 for the operands of a bf16 pass.
    var dataType: dnnl_data_type_t { raw.data_type }

    var shape: [Int] {
        withUnsafeBytes(of: raw.dims) { buffer in
            let dims = buffer.bindMemory(to: Int64.self)
            return (0..<Int(raw.ndims)).map { Int(dims[$0]) }
        }
    }

    static func == (lhs: MemoryDescriptor, rhs: MemoryDescriptor) -> Bool {
        withUnsafePointer(to: lhs.raw) { l in
            withUnsafePointer(to: rhs.raw) { r in dnnl_memory_desc_equal(l, r) != 0 }
        }
    }

    func hash(into hasher: inout Hasher) {
        // Dimensions and strides identify a layout well enough for hashing; equality
        // above is oneDNN's own comparison.
        hasher.combine(shape)
        withUnsafeBytes(of: raw.format_desc.blocking) { hasher.combine(bytes: $0) }
    }

    /// A short, stable text form used in primitive-cache keys. It names the data type, so
    /// that a float32 → bf16 reorder is not mistaken for a float32 one of the same layout.
    var key: String {
        let strides = withUnsafeBytes(of: raw.format_desc.blocking) { Array($0) }
        return "\(shape)/\(strides.reduce(into: 0) { $0 = $0 &* 31 &+ Int($1) })/t\(raw.data_type.rawValue)"
    }
}
