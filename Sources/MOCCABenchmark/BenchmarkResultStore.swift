import Foundation

/// The store of the one-class benchmark's records.
public typealias BenchmarkResultStore = JSONLinesStore<BenchmarkRecord>

/// The finished runs of a benchmark, one JSON record per line (`results.jsonl`), so that a
/// killed benchmark resumes where it stopped.
///
/// Every append replaces the whole file atomically (`AtomicFile`): a run killed
/// while writing leaves the previous file, never half a line. A torn last line can still
/// come from elsewhere (files merged with `cat` or copied while a run was writing, a full
/// disk, another tool); ``load()`` drops it with a warning, since the run it held is simply
/// redone, and the next append leaves it out. Any other line that is not a record is an
/// error naming its line: dropping it would silently lose a finished run.
public struct JSONLinesStore<Record: Codable & Sendable>: Sendable {
    /// The JSON-lines file.
    public let url: URL

    /// A store in `url`; nothing is read or created until used.
    public init(url: URL) { self.url = url }

    /// What ``load()`` read.
    public struct Contents: Sendable {
        /// The records, in file order.
        public var records: [Record]
        /// What was dropped and why (a torn last line), for the user to see.
        public var warnings: [String]
    }

    /// The stored records; none when the file does not exist yet.
    /// - Throws: ``BenchmarkError/corruptResults(path:line:reason:)`` for a line that is
    ///   neither a record nor a torn last line, ``BenchmarkError/unreadable(path:reason:)``
    ///   when the file exists but cannot be read.
    public func load() throws -> Contents {
        let parsed = try parse()
        return Contents(records: parsed.records.map(\.record), warnings: parsed.warnings)
    }

    /// Appends one record, replacing the file atomically; a torn last line is left out.
    /// - Throws: what ``load()`` throws, or ``BenchmarkError/unwritable(path:reason:)``.
    public func append(_ record: Record) throws {
        let kept = try parse().records.map(\.line)
        let line = String(decoding: try BenchmarkJSON.encoder().encode(record), as: UTF8.self)
        try BenchmarkJSON.write(Data((kept + [line]).map { $0 + "\n" }.joined().utf8), to: url)
    }

    private func parse() throws -> (records: [(record: Record, line: String)], warnings: [String]) {
        guard FileManager.default.fileExists(atPath: url.path) else { return ([], []) }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw BenchmarkError.unreadable(path: url.path, reason: error.localizedDescription)
        }
        let text = String(decoding: data, as: UTF8.self)
        // Split on every newline, so that line numbers are the ones an editor shows; the
        // piece after the last newline is empty unless the file ends mid-line.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let decoder = BenchmarkJSON.decoder()
        var records: [(Record, String)] = []
        var warnings: [String] = []
        for (index, line) in lines.enumerated() where !line.allSatisfy(\.isWhitespace) {
            do {
                records.append((try decoder.decode(Record.self, from: Data(line.utf8)), String(line)))
            } catch {
                // Only the last piece, with no newline after it, can be a write cut short.
                guard index == lines.count - 1 else {
                    throw BenchmarkError.corruptResults(path: url.path, line: index + 1, reason: Self.reason(error))
                }
                warnings.append("\(url.path), line \(index + 1): dropped an incomplete last line (\(line.utf8.count) bytes, no newline), left by a write cut short; its run will be redone")
            }
        }
        return (records, warnings)
    }

    /// The gist of a decoding error: which field, and what was wrong with it.
    private static func reason(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, let context):
            return "missing \(Self.path(context.codingPath + [key]))"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(Self.path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "\(Self.path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    private static func path(_ keys: [CodingKey]) -> String {
        keys.isEmpty ? "the record" : keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
}

extension JSONLinesStore.Contents: Equatable where Record: Equatable {}
