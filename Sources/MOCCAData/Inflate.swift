import CZlib
import Foundation

/// zlib's inflate over a whole buffer, for the two wrappers the readers meet: gzip (IDX
/// files) and raw deflate (zip members). One loop, so that both treat truncation, corrupt
/// streams and oversized output the same way.
enum Inflate {
    /// The framing around the deflate stream.
    enum Wrapper {
        /// gzip members, one after another, as `gzread` reads them; anything after the
        /// last member that is not another member is ignored.
        case gzip
        /// A bare deflate stream (zip's method 8), which must inflate to exactly `size` bytes
        /// at most: memory grows with what the stream really produces, not with what a
        /// header claims.
        case raw(size: Int)
    }

    /// `input` inflated.
    /// - Throws: ``DataError/malformed(path:message:)`` for a truncated or corrupt stream,
    ///   or raw output beyond its declared size; ``DataError/unreadable(path:reason:)`` when
    ///   zlib cannot start.
    static func inflate(_ input: [UInt8], _ wrapper: Wrapper, path: String) throws -> [UInt8] {
        let (name, bits, limit): (String, Int32, Int?)
        switch wrapper {
        // 16 + 15: a gzip wrapper (not zlib's) around a stream of up to a 32 KiB window.
        case .gzip: (name, bits, limit) = ("gzip", 16 + MAX_WBITS, nil)
        case .raw(let size): (name, bits, limit) = ("deflate", -MAX_WBITS, size)
        }
        var stream = z_stream()
        guard inflateInit2_(&stream, bits, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError.unreadable(path: path, reason: "zlib could not start")
        }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        if let limit { output.reserveCapacity(min(limit, 1 << 26)) }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        try input.withUnsafeBufferPointer { source in
            guard let start = source.baseAddress else { return }
            // Where inflate has read to; the input is handed over at most 1 GiB at a time
            // (avail_in is 32 bits).
            func position() -> Int { start.distance(to: UnsafePointer(stream.next_in)) }
            stream.next_in = UnsafeMutablePointer(mutating: start)
            while true {
                if stream.avail_in == 0 { stream.avail_in = UInt32(min(source.count - position(), 1 << 30)) }
                let (code, produced) = chunk.withUnsafeMutableBufferPointer { buffer -> (Int32, Int) in
                    stream.next_out = buffer.baseAddress
                    stream.avail_out = UInt32(buffer.count)
                    let code = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return (code, buffer.count - Int(stream.avail_out))
                }
                if let limit, produced > limit - output.count {
                    throw DataError.malformed(path: path, message: "the deflate stream inflates to more than the \(limit) bytes declared")
                }
                output += chunk[0..<produced]
                switch code {
                case Z_OK:
                    continue
                case Z_STREAM_END:
                    guard case .gzip = wrapper else { return }
                    // Another member follows, or the stream ends (trailing bytes ignored).
                    let next = position()
                    guard source.count - next >= 2, source[next] == 0x1F, source[next + 1] == 0x8B else { return }
                    guard inflateReset(&stream) == Z_OK else { throw DataError.malformed(path: path, message: "corrupt gzip stream") }
                case Z_BUF_ERROR where position() == source.count:
                    let place = limit.map { "it ends after \(output.count) of \($0) bytes" } ?? "it ends inside a member"
                    throw DataError.malformed(path: path, message: "truncated \(name) stream: \(place)")
                default:
                    let reason = stream.msg.map { String(cString: $0) } ?? "zlib error \(code)"
                    throw DataError.malformed(path: path, message: "corrupt \(name) stream (\(reason))")
                }
            }
        }
        return output
    }
}
