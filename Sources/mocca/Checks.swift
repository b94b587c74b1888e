import ArgumentParser
import Foundation
import MOCCA

/// A failure found while a command runs (data, files, training), as opposed to a bad
/// option: argument-parser prints it as `Error: <message>` without a usage line, which
/// would only distract from it.
struct CommandFailure: Error, CustomStringConvertible {
    /// What went wrong, where, and what was expected.
    let description: String

    init(_ description: String) { self.description = description }
}

/// Checks, before any work, that `path` can be written: a file's folder must exist (the
/// tool writes files atomically beside their destination and creates no folders for them),
/// a detector folder's nearest existing ancestor must be a folder (the folders in between
/// are created). Writing is probed with a file, because permission bits say nothing of
/// read-only mounts, and do not apply to root.
/// - Throws: `ValidationError` naming `option`, the path and the folder at fault.
func checkWritable(_ path: String, option: String, isFolder: Bool = false) throws {
    let fileManager = FileManager.default
    var isDirectory: ObjCBool = false
    if !isFolder, fileManager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw ValidationError("\(option) \(path) is a folder; give the path of a file to write")
    }
    var folder = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
    if isFolder {
        while folder.path != "/" && !fileManager.fileExists(atPath: folder.path) { folder = folder.deletingLastPathComponent() }
    }
    guard fileManager.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
        throw ValidationError("\(option) \(path): the folder \(folder.path) does not exist; create it first")
    }
    guard isDirectory.boolValue else {
        throw ValidationError("\(option) \(path): \(folder.path) is a file, not a folder")
    }
    let probe = folder.appendingPathComponent(".mocca-write-probe-\(ProcessInfo.processInfo.processIdentifier)")
    guard fileManager.createFile(atPath: probe.path, contents: nil) else {
        throw ValidationError("\(option) \(path): cannot write in the folder \(folder.path)")
    }
    try? fileManager.removeItem(at: probe)
}

/// Refuses to write over something the user has, unless it is a detector and `overwrite`
/// is set, and checks that the detector folder can be written.
/// - Parameter overwrite: `--overwrite`, or nil for a command that has no such flag.
/// - Throws: `ValidationError` naming `option` and the path.
func checkOutput(_ path: String, overwrite: Bool?, option: String = "--out") throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
        let manifest = FileManager.default.contents(atPath: (path as NSString).appendingPathComponent(MOCCADetector.manifestName))
        let format = manifest.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }?["format"] as? String
        let isDetector = isDirectory.boolValue && format == "swift-mocca-detector"
        if !isDetector { throw ValidationError("\(option) \(path) exists and is not a detector folder; choose another \(option)") }
        if overwrite != true {
            let remedy = overwrite == nil ? "choose another \(option)" : "pass --overwrite to replace it"
            throw ValidationError("\(option) \(path) already holds a detector; \(remedy)")
        }
    }
    try checkWritable(path, option: option, isFolder: true)
}
