import Foundation
import MOCCA

/// The tool version and git commit that every new ``BenchmarkRecord`` carries, so that a
/// table can be traced to the code that made it.
///
/// The commit is read when the benchmark starts, not compiled in: SwiftPM has no safe way
/// to pass a build-time value into the code without a build plugin or unsafe flags.
/// ``current(environment:)`` takes, in this order:
/// 1. the environment variable `MOCCA_GIT_COMMIT`, for a tool built or run away from its
///    checkout (a package, a container);
/// 2. `git rev-parse HEAD` in the folder this source file was compiled from (`#filePath`),
///    with `-dirty` appended when tracked files differ from that commit; this is the
///    checkout as it is when the run starts, which is the build's only if it was not
///    changed since;
/// 3. `unknown`.
public struct BenchmarkProvenance: Codable, Sendable, Equatable {
    /// The swift-mocca version, ``MOCCAVersion/current``.
    public var toolVersion: String
    /// A commit hash, maybe with `-dirty`, or ``unknownCommit``.
    public var gitCommit: String

    /// What ``gitCommit`` says when no commit could be found.
    public static let unknownCommit = "unknown"
    /// The environment variable that names the commit explicitly.
    public static let commitVariable = "MOCCA_GIT_COMMIT"

    /// A provenance from its parts.
    public init(toolVersion: String = MOCCAVersion.current, gitCommit: String) {
        self.toolVersion = toolVersion
        self.gitCommit = gitCommit
    }

    /// This build's version and its commit, found as the type's documentation says.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> BenchmarkProvenance {
        if let commit = environment[commitVariable]?.trimmingCharacters(in: .whitespacesAndNewlines), !commit.isEmpty {
            return BenchmarkProvenance(gitCommit: commit)
        }
        return BenchmarkProvenance(gitCommit: checkoutCommit(in: sourceFolder) ?? unknownCommit)
    }

    /// The folder of this file when it was compiled: inside the checkout for any build
    /// made from one.
    static let sourceFolder = (#filePath as NSString).deletingLastPathComponent

    /// HEAD of the git checkout holding `folder`, with `-dirty` for uncommitted changes to
    /// tracked files; `nil` without git, outside a checkout, or on any failure.
    static func checkoutCommit(in folder: String) -> String? {
        guard FileManager.default.fileExists(atPath: folder),
              let head = git(["rev-parse", "HEAD"], in: folder), head.count == 40,
              head.allSatisfy(\.isHexDigit) else { return nil }
        // `--untracked-files=no`: a stray output file is not a change to the code.
        guard let changes = git(["status", "--porcelain", "--untracked-files=no"], in: folder) else { return head }
        return changes.isEmpty ? head : head + "-dirty"
    }

    /// The trimmed standard output of `git -C folder arguments`, or `nil` when it fails.
    private static func git(_ arguments: [String], in folder: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["git", "-C", folder] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        // Read before waiting: a full pipe would otherwise block git forever.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
