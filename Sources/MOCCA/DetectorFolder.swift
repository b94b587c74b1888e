import Foundation

/// Writes a detector folder so that an interruption at any point loses nothing: the new
/// files are written into a hidden staging folder beside the destination and swapped in
/// by renames; files in an existing folder that the tool did not write are carried over.
///
/// Hidden folders left by a killed process (`.NAME.partial-PID`, `.NAME.previous-PID`
/// whose process is gone) are cleaned up at the next write to the same destination: a
/// staging folder is removed, a previous detector is restored (or its extra files
/// carried over when a newer detector is in place).
struct DetectorFolder {
    /// The files of a detector; everything else in its folder is the user's.
    static let toolFiles: Set<String> = [MOCCADetector.manifestName, MOCCADetector.weightsName]

    let directory: URL
    private var fileManager: FileManager { .default }
    private var parent: URL { directory.deletingLastPathComponent() }
    private var name: String { directory.lastPathComponent }

    init(_ directory: URL) { self.directory = directory.standardizedFileURL }

    /// Cleans up after killed writers, lets `body` fill a staging folder, and swaps it in.
    /// Returns a sentence for each leftover cleaned up.
    func write(_ body: (URL) throws -> Void) throws -> [String] {
        let notes = cleanUpLeftovers()
        let pid = ProcessInfo.processInfo.processIdentifier
        let staging = parent.appendingPathComponent(".\(name).partial-\(pid)")
        do {
            try? fileManager.removeItem(at: staging)
            try fileManager.createDirectory(at: staging, withIntermediateDirectories: true)
            try body(staging)
            if fileManager.fileExists(atPath: directory.path) {
                // Swap by renames; the old detector goes only once the new one is in place.
                let previous = parent.appendingPathComponent(".\(name).previous-\(pid)")
                try? fileManager.removeItem(at: previous)
                try fileManager.moveItem(at: directory, to: previous)
                do { try fileManager.moveItem(at: staging, to: directory) } catch {
                    try? fileManager.moveItem(at: previous, to: directory)
                    throw error
                }
                try carryOverUserFiles(from: previous)
                try fileManager.removeItem(at: previous)
            } else {
                try fileManager.moveItem(at: staging, to: directory)
            }
        } catch {
            try? fileManager.removeItem(at: staging)
            throw MOCCAError.invalidDetector(path: directory.path, reason: "could not be written: \(error)")
        }
        return notes
    }

    /// Moves every file of `old` that the tool did not write, and that the new folder
    /// lacks, into the new folder.
    private func carryOverUserFiles(from old: URL) throws {
        for entry in try fileManager.contentsOfDirectory(atPath: old.path) where !Self.toolFiles.contains(entry) {
            let target = directory.appendingPathComponent(entry)
            if !fileManager.fileExists(atPath: target.path) {
                try fileManager.moveItem(at: old.appendingPathComponent(entry), to: target)
            }
        }
    }

    /// Removes or restores the hidden folders of writers that died.
    private func cleanUpLeftovers() -> [String] {
        guard let entries = try? fileManager.contentsOfDirectory(atPath: parent.path) else { return [] }
        var notes: [String] = []
        for entry in entries.sorted() {
            guard let (kind, pid) = leftover(entry), !isAlive(pid) else { continue }
            let url = parent.appendingPathComponent(entry)
            if kind == "previous" && !fileManager.fileExists(atPath: directory.path), (try? fileManager.moveItem(at: url, to: directory)) != nil {
                notes.append("restored the detector \(directory.path) from \(entry), left by process \(pid) that was stopped while saving")
                continue
            }
            if kind == "previous" { try? carryOverUserFiles(from: url) }
            if (try? fileManager.removeItem(at: url)) != nil {
                notes.append("removed \(url.path), left unfinished by process \(pid)")
            }
        }
        return notes
    }

    /// `("partial" | "previous", pid)` for a leftover of this destination.
    private func leftover(_ entry: String) -> (String, Int32)? {
        for kind in ["partial", "previous"] {
            let prefix = ".\(name).\(kind)-"
            if entry.hasPrefix(prefix), let pid = Int32(entry.dropFirst(prefix.count)) { return (kind, pid) }
        }
        return nil
    }

    private func isAlive(_ pid: Int32) -> Bool {
        pid != ProcessInfo.processInfo.processIdentifier && (kill(pid, 0) == 0 || errno == EPERM)
    }
}
