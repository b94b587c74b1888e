import Foundation

/// A .npz archive (a zip of .npy members), stored or deflated.
///
/// `np.savez` and `np.savez_compressed` are how features and labels usually travel
/// together out of Python; members are decoded only when asked for, so that listing an
/// archive's names costs nothing.
public struct NumPyArchive: Sendable {
    /// Names the archive in errors.
    private let path: String
    private let bytes: ZipBytes
    private let entries: [String: ZipEntry]

    /// The members' names without the ".npy" suffix, as numpy names them (`np.load(f).files`),
    /// in the archive's order.
    public var memberNames: [String]

    /// Reads the directory of an `.npz` file.
    /// - Throws: ``DataError/missing(path:expected:)`` when there is no such file,
    ///   ``DataError/unreadable(path:reason:)`` when it cannot be read, and the errors of
    ///   ``init(data:path:)``.
    public init(contentsOf url: URL) throws {
        try self.init(data: readWholeFile(url, expected: "a NumPy .npz archive"), path: url.path)
    }

    /// Reads the directory of the `.npz` archive in `data`.
    /// - Parameter path: names the archive in errors; nothing is read from it.
    /// - Throws: ``DataError/malformed(path:message:)`` when `data` is not a zip archive,
    ///   is truncated, or names a member twice.
    public init(data: Data, path: String) throws {
        let bytes = ZipBytes(data, path: path)
        var entries: [String: ZipEntry] = [:]
        var names: [String] = []
        for entry in try ZipDirectory.entries(in: bytes, path: path) {
            let name = entry.name.hasSuffix(".npy") ? String(entry.name.dropLast(4)) : entry.name
            guard entries[name] == nil else {
                throw DataError.malformed(path: path, message: "the archive has two members named '\(name)'")
            }
            entries[name] = entry
            names.append(name)
        }
        self.path = path
        self.bytes = bytes
        self.entries = entries
        memberNames = names
    }

    /// The member called `name` (with or without ".npy"), extracted and decoded.
    /// - Throws: ``DataError/missing(path:expected:)`` naming the available members when
    ///   there is none by that name; ``DataError/malformed(path:message:)`` or
    ///   ``DataError/unsupported(path:message:)`` naming `archive.npz:member` when the member
    ///   cannot be extracted or is not a readable `.npy` array.
    public func array(named name: String) throws -> NumPyArray {
        let key = entries[name] == nil && name.hasSuffix(".npy") ? String(name.dropLast(4)) : name
        guard let entry = entries[key] else {
            let available = memberNames.isEmpty ? "the archive is empty" : "available: \(memberNames.joined(separator: ", "))"
            throw DataError.missing(path: "\(path):\(name)", expected: "a member named '\(name)' (\(available))")
        }
        let memberPath = "\(path):\(key)"
        let contents = try ZipMemberReader.contents(of: entry, in: bytes, path: memberPath)
        return try contents.withUnsafeBytes { try NumPyArray.read(bytes: $0, path: memberPath) }
    }
}
