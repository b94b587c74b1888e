import Foundation

/// The files of a benchmark's results folder.
///
/// - `results.jsonl`: one ``BenchmarkRecord`` per finished run (``BenchmarkResultStore``);
/// - `pretrained/`: the autoencoders, `<class>-seed<seed>-<key>.safetensors`, keyed by
///   ``PretrainingKey``;
/// - `table.md`, `table.json`: the ``BenchmarkTable``.
public struct BenchmarkFolder: Sendable {
    /// The folder.
    public let url: URL

    /// The folder at `url`; ``create()`` makes it.
    public init(url: URL) { self.url = url }

    /// The finished runs.
    public var results: BenchmarkResultStore { BenchmarkResultStore(url: url.appendingPathComponent("results.jsonl")) }
    /// The folder of the pretrained autoencoders.
    public var pretrained: URL { url.appendingPathComponent("pretrained", isDirectory: true) }
    /// The table in Markdown.
    public var tableMarkdown: URL { url.appendingPathComponent("table.md") }
    /// The table in JSON.
    public var tableJSON: URL { url.appendingPathComponent("table.json") }

    /// Where the autoencoder of `normalClass` and `seed` pretrained as `key` is kept.
    public func pretrainedWeights(normalClass: String, seed: UInt64, key: PretrainingKey) -> URL {
        pretrained.appendingPathComponent("\(normalClass)-seed\(seed)-\(key.value).safetensors")
    }

    /// Creates the folder and its `pretrained/` folder if they are missing.
    /// - Throws: ``BenchmarkError/unwritable(path:reason:)``.
    public func create() throws {
        do { try FileManager.default.createDirectory(at: pretrained, withIntermediateDirectories: true) } catch {
            throw BenchmarkError.unwritable(path: pretrained.path, reason: error.localizedDescription)
        }
    }

    /// Writes `table.md` and `table.json`, each atomically.
    /// - Throws: ``BenchmarkError/unwritable(path:reason:)``.
    public func write(_ table: BenchmarkTable) throws {
        try BenchmarkJSON.write(Data(table.markdown().utf8), to: tableMarkdown)
        let json: Data
        do { json = try table.json() } catch {
            throw BenchmarkError.unwritable(path: tableJSON.path, reason: "the table does not encode: \(error)")
        }
        try BenchmarkJSON.write(json, to: tableJSON)
    }
}
