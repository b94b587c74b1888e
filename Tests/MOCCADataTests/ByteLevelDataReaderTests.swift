import Foundation
import MOCCAData
import MOCCATestSupport
import Testing

/// The byte-level entry points of the data readers that the fuzz targets (`Fuzz/`) drive:
/// each is the code its path-based reader runs once it has read the file.
@Suite("Byte-level data readers")
struct ByteLevelDataReaderTests {
    static let pixels: [UInt8] = [0, 1, 2, 3, 10, 20, 30, 40, 255, 254, 253, 252]

    @Test func idxBytesDecodeAsTheFileDoesGzippedOrNot() throws {
        let idx = makeIDX(dimensions: [3, 2, 2], values: Self.pixels)
        for bytes in [idx, gzipStored(idx)] {
            let array = try IDXReader.decodeArray(Data(bytes), rank: 3, path: "images")
            #expect(array.dimensions == [3, 2, 2])
            #expect(array.values == Self.pixels)
        }
        let error = #expect(throws: DataError.self) { try IDXReader.decodeArray(Data(idx), rank: 1, path: "labels") }
        #expect(error?.description.contains("an IDX label file of rank 1") == true, "\(String(describing: error))")
    }

    /// As zlib's gzread: several gzip members are one stream, and bytes after the last
    /// member that do not start another are ignored.
    @Test func gzipStreamOfSeveralMembersIsReadWholeAndTrailingBytesIgnored() throws {
        let idx = makeIDX(dimensions: [3, 2, 2], values: Self.pixels)
        let split = 9
        let members = gzipStored(Array(idx[..<split])) + gzipStored(Array(idx[split...]))
        for bytes in [members, members + [0, 0, 0, 0]] {
            #expect(try IDXReader.decodeArray(Data(bytes), rank: 3, path: "images").values == Self.pixels)
        }
        let truncated = #expect(throws: DataError.self) {
            try IDXReader.decodeArray(Data(members.dropLast(3)), rank: 3, path: "images")
        }
        #expect(truncated?.description.contains("truncated gzip stream") == true, "\(String(describing: truncated))")
        var corrupt = gzipStored(idx)
        corrupt[10] = 0x07  // BTYPE 11: a reserved block type
        let error = #expect(throws: DataError.self) { try IDXReader.decodeArray(Data(corrupt), rank: 3, path: "images") }
        #expect(error?.description.contains("corrupt gzip stream") == true, "\(String(describing: error))")
    }

    @Test func cifarBatchBytesDecodeNamingTheFileInSources() throws {
        let records = CIFAR10ReaderTests.record(label: 7, seed: 1) + CIFAR10ReaderTests.record(label: 2, seed: 2)
        let batch = try CIFAR10.decodeBatch(Data(records), path: "/somewhere/data_batch_3.bin")
        #expect(batch.labels == [7, 2])
        #expect(batch.sources == ["data_batch_3.bin#0", "data_batch_3.bin#1"])
        #expect(batch.pixels == CIFAR10ReaderTests.pixels(seed: 1) + CIFAR10ReaderTests.pixels(seed: 2))
        #expect(try CIFAR10.decodeBatch(Data(records), path: "b.bin", keep: { $0 == 2 }).labels == [2])
    }

    @Test func imageBytesDecodeAsTheFile() throws {
        let png = makePNG(width: 2, height: 2, channels: 3, pixels: Array(Self.pixels))
        let directory = try makeTemporaryDirectory("bytes-png")
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("image.png")
        try writeBytes(png, to: url)
        for channels in [1, 3] {
            #expect(try ImageDecoder.decode(bytes: png, path: "image.png", channels: channels)
                    == ImageDecoder.decode(path: url.path, channels: channels))
        }
        #expect(throws: DataError.self) { try ImageDecoder.decode(bytes: png, path: "image.png", channels: 2) }
    }
}
