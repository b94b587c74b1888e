import Foundation

/// Writes files so that a reader never sees a partial file and an existing file is
/// replaced only by a complete one: the data goes to a temporary file in the same folder
/// (so the final rename never crosses file systems), is flushed to disk, then renamed
/// over the destination.
///
/// Foundation's `.atomic` option is not used: on Linux it stages the file in the
/// system's temporary folder, which can be another file system, and leaves a
/// `TemporaryDirectory.*` folder behind on every write.
public enum AtomicFile {
    /// Writes `data` to `url` atomically.
    /// - Throws: the underlying POSIX error, with the path, when the folder is missing or
    ///   not writable.
    public static func write(_ data: Data, to url: URL) throws {
        try write(to: url) { append in try append(data) }
    }

    /// Writes a file atomically a piece at a time: `produce` calls `append` with each
    /// piece, so that a large output (a million scores) never has to be held whole. The
    /// destination appears, complete, only when `produce` returns; if it throws, the
    /// destination is left as it was.
    public static func write(to url: URL, _ produce: (_ append: (Data) throws -> Void) throws -> Void) throws {
        let folder = url.deletingLastPathComponent().path
        let temporary = (folder as NSString).appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).\(UInt32.random(in: 0...UInt32.max)).tmp")
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else { throw error(errno, url.path) }
        var closed = false
        defer {
            if !closed { close(descriptor) }
            unlink(temporary)
        }
        try produce { data in
            try data.withUnsafeBytes { buffer in
                guard let base = buffer.baseAddress else { return }
                var offset = 0
                while offset < buffer.count {
                    let written = Foundation.write(descriptor, base + offset, buffer.count - offset)
                    guard written > 0 else { throw error(errno, url.path) }
                    offset += written
                }
            }
        }
        guard fsync(descriptor) == 0 else { throw error(errno, url.path) }
        closed = true
        guard close(descriptor) == 0 else { throw error(errno, url.path) }
        guard rename(temporary, url.path) == 0 else { throw error(errno, url.path) }
    }

    private static func error(_ code: Int32, _ path: String) -> Error {
        NSError(domain: NSPOSIXErrorDomain, code: Int(code),
                userInfo: [NSLocalizedDescriptionKey: "\(path): \(String(cString: strerror(code)))"])
    }
}
