import Foundation
import MOCCA
import MOCCAData
import MOCCANN
import Testing

/// The byte-level entry points the fuzz targets (`Fuzz/`) drive: each is the code its
/// path-based reader runs once it has read the file.
@Suite("Byte-level readers")
struct ByteLevelReaderTests {
    @Test func manifestBytesAreCheckedAsLoadChecksThem() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../Fixtures/detectors/v0.1.0-demo-knn").standardized
        let data = try Data(contentsOf: folder.appendingPathComponent("manifest.json"))
        let configuration = try MOCCADetector.checkManifest(data, path: folder.path)
        #expect(configuration.taps == ["conv1", "conv2", "code"])
        // A radius dropped: load refuses it before reading the weights, and so does the check.
        let text = String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\"radii\" : [\n    0,", with: "\"radii\" : [")
        let error = #expect(throws: MOCCAError.self) { try MOCCADetector.checkManifest(Data(text.utf8), path: "detector") }
        #expect(error?.description.contains("not as many centroids, radii or statistics") == true, "\(String(describing: error))")
    }

    /// The seed corpora of the fuzz targets (Fuzz/Corpus, by scripts/make-fuzz-corpus.py).
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus")

    /// Every seed file of a fuzz target, with its bytes.
    static func seeds(_ target: String) throws -> [(name: String, data: Data)] {
        let directory = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { ($0, try Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    /// A seed the reader refuses would start the fuzzer on the error paths only.
    @Test func everySeedOfTheFuzzCorporaIsValid() throws {
        var count = 0
        for (name, data) in try Self.seeds("fuzz-idx") {
            let rank = name.hasPrefix("labels") ? 1 : 3
            #expect(throws: Never.self, "\(name)") { try IDXReader.decodeArray(data, rank: rank, path: name) }
            count += 1
        }
        for (name, data) in try Self.seeds("fuzz-cifar10") {
            #expect(throws: Never.self, "\(name)") { try CIFAR10.decodeBatch(data, path: name) }
            count += 1
        }
        for (name, data) in try Self.seeds("fuzz-safetensors") {
            #expect(throws: Never.self, "\(name)") { try SafeTensors.decode(data) }
            count += 1
        }
        for (name, data) in try Self.seeds("fuzz-manifest") {
            #expect(throws: Never.self, "\(name)") { try MOCCADetector.checkManifest(data, path: name).validate() }
            count += 1
        }
        for (name, data) in try Self.seeds("fuzz-png") + Self.seeds("fuzz-jpeg") + Self.seeds("fuzz-tiff") {
            for channels in [1, 3] {
                #expect(throws: Never.self, "\(name)") { try ImageDecoder.decode(bytes: [UInt8](data), path: name, channels: channels) }
            }
            count += 1
        }
        #expect(count >= 30)
    }
}
