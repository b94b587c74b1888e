import Foundation
import MOCCACore

/// The one JSON dialect of the results folder: sorted keys (stable lines and diffs), and
/// non-finite numbers as strings, since an AUROC of a degenerate run can be NaN.
enum BenchmarkJSON {
    static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys] : [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }

    /// Replaces `url` by `data` atomically: a reader, or a run killed meanwhile, sees the
    /// old file or the new one, never a mix.
    static func write(_ data: Data, to url: URL) throws {
        do { try AtomicFile.write(data, to: url) } catch {
            throw BenchmarkError.unwritable(path: url.path, reason: error.localizedDescription)
        }
    }
}
