import Foundation
import MOCCACore
@testable import MOCCAData
import MOCCATestSupport
import Testing

/// Tiny videos written as PNG frames: frame `f` of video `v` is a flat `side × side` grey
/// image of value `50 v + f` (unless `pixels` says otherwise), so that every sample value
/// names its video and frame.
private enum TinyVideos {
    static func writeFrames(_ folder: URL, count: Int, side: Int = 8, video: Int = 0,
                            pixels: ((Int) -> [UInt8])? = nil) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for f in 0..<count {
            let bytes = pixels?(f) ?? [UInt8](repeating: UInt8(50 * video + f), count: side * side)
            try writeBytes(makePNG(width: side, height: side, channels: 1, pixels: bytes),
                           to: folder.appendingPathComponent(String(format: "%03d.png", f)))
        }
    }

    static func writeLabels(_ url: URL, _ labels: [UInt8], descriptor: String = "|u1", shape: [Int]? = nil) throws {
        let data = NumPyFiles.file(descriptor: descriptor, shape: shape ?? [labels.count], payload: Data(labels))
        try writeBytes([UInt8](data), to: url)
    }

    /// training: 01 (20 frames), 02 (16); testing: 01 (18, labels), 02 (16, bool labels).
    static func writeShanghaiTech(_ root: URL) throws {
        try writeFrames(root.appendingPathComponent("training/frames/01"), count: 20, video: 0)
        try writeFrames(root.appendingPathComponent("training/frames/02"), count: 16, video: 1)
        try writeFrames(root.appendingPathComponent("testing/frames/01"), count: 18, video: 2)
        try writeFrames(root.appendingPathComponent("testing/frames/02"), count: 16, video: 3)
        try writeLabels(root.appendingPathComponent("testing/test_frame_mask/01.npy"), (0..<18).map { $0 >= 10 ? 1 : 0 })
        try writeLabels(root.appendingPathComponent("testing/test_frame_mask/02.npy"), [UInt8](repeating: 0, count: 16), descriptor: "|b1")
    }

    static func withTree<T>(_ label: String, _ body: (URL) throws -> T) throws -> T {
        let root = try makeTemporaryDirectory(label)
        defer { try? FileManager.default.removeItem(at: root) }
        try writeShanghaiTech(root)
        return try body(root)
    }

    static let options = VideoFrameOptions(channels: 1, height: 8, width: 8)
}

@Suite("Video layouts")
struct VideoLayoutTests {
    @Test func shanghaiTechLayoutIsRead() throws {
        try TinyVideos.withTree("video-layout") { root in
            let split = try VideoLayout.readShanghaiTech(root: root)
            #expect(split.train.map(\.name) == ["01", "02"] && split.train.map(\.frameCount) == [20, 16])
            #expect(split.train.allSatisfy { $0.labels == nil })
            #expect(split.test.map(\.name) == ["01", "02"] && split.test.map(\.frameCount) == [18, 16])
            #expect(split.test[0].labels == (0..<18).map { $0 >= 10 ? 1 : 0 })
            #expect(split.test[1].labels == [UInt8](repeating: 0, count: 16))
            #expect(split.train[0].frames.first!.hasSuffix("training/frames/01/000.png"))
            #expect(split.train[0].frames.last!.hasSuffix("training/frames/01/019.png"))
        }
    }

    @Test func framesAreInNaturalOrder() throws {
        let root = try makeTemporaryDirectory("video-natural")
        defer { try? FileManager.default.removeItem(at: root) }
        for name in ["10.png", "2.png", "1.png", "notes.txt", ".hidden.png"] { try writeBytes([0], to: root.appendingPathComponent(name)) }
        let frames = try VideoLayout.sortedFrames(in: root, video: "v")
        #expect(frames.map { ($0 as NSString).lastPathComponent } == ["1.png", "2.png", "10.png"])
        #expect(VideoLayout.naturalOrder("frame9", "frame10") && !VideoLayout.naturalOrder("frame10", "frame9"))
        #expect(VideoLayout.naturalOrder("a", "ab") && VideoLayout.naturalOrder("01", "001"))
    }

    @Test func ucsdLayoutWithGroundTruthRanges() throws {
        let root = try makeTemporaryDirectory("video-ucsd")
        defer { try? FileManager.default.removeItem(at: root) }
        for (folder, count) in [("Train/Train001", 5), ("Train/Train002", 4), ("Test/Test001", 6), ("Test/Test002", 3)] {
            for f in 1...count { try writeBytes([0], to: root.appendingPathComponent("\(folder)/\(String(format: "%03d", f)).tif")) }
        }
        try writeBytes([0], to: root.appendingPathComponent("Test/Test001_gt/001.bmp"))
        let script = """
        TestVideoFile = {};
        % Test001
        TestVideoFile{end+1}.gt_frame = [2:3, 6];
        % Test002
        TestVideoFile{end+1}.gt_frame = [1:3];
        """
        let truth = try VideoLayout.parseUCSDGroundTruth(script)
        #expect(truth == [[2...3, 6...6], [1...3]])
        let split = try VideoLayout.readUCSD(root: root, groundTruth: truth)
        #expect(split.train.map(\.name) == ["Train001", "Train002"] && split.train.map(\.frameCount) == [5, 4])
        #expect(split.test.map(\.name) == ["Test001", "Test002"])
        #expect(split.test[0].labels == [0, 1, 1, 0, 0, 1] && split.test[1].labels == [1, 1, 1])
        #expect(try VideoLayout.readUCSD(root: root, groundTruth: nil).test.allSatisfy { $0.labels == nil })
        // A range past the video's end, and a ground truth for another number of videos.
        #expect { try VideoLayout.readUCSD(root: root, groundTruth: [[1...2], [2...4]]) } throws: { "\($0)".contains("video Test002") }
        #expect { try VideoLayout.readUCSD(root: root, groundTruth: [[1...2]]) } throws: { "\($0)".contains("1 test videos") }
    }
}

@Suite("Video clips")
struct VideoClipTests {
    @Test func clipCountsAndIndicesAtVideoEnds() throws {
        #expect(VideoClips.starts(frameCount: 20, length: 16, stride: 1) == [0, 1, 2, 3, 4])
        #expect(VideoClips.starts(frameCount: 16, length: 16, stride: 1) == [0])
        #expect(VideoClips.starts(frameCount: 15, length: 16, stride: 1).isEmpty)
        // A stride that misses the end gets a last clip flush with it.
        #expect(VideoClips.starts(frameCount: 20, length: 16, stride: 3) == [0, 3, 4])
        #expect(VideoClips.starts(frameCount: 22, length: 16, stride: 3) == [0, 3, 6])
        try TinyVideos.withTree("video-clips") { root in
            let split = try VideoLayout.readShanghaiTech(root: root)
            let cache = try VideoFrameCache(videos: split.train, options: TinyVideos.options)
            let clips = try VideoClips(cache, length: 16, normalization: .unit)
            // F − T + 1 clips per video: 5 + 1.
            #expect(clips.count == 6 && clips.sampleShape == [1, 16, 8, 8])
            #expect(clips.groups == [0, 0, 0, 0, 0, 1])
            #expect(clips.clips.last == VideoClip(video: 1, start: 0, length: 16))
            #expect(clips.origin(of: 4) == "video 01, frames 4–19")
            #expect(clips.origin(of: 5) == "video 02, frames 0–15")
            #expect(clips.labels == nil)
            // The last clip of video 01 holds frames 4...19, in time order.
            let batch = try clips.batch([4, 5])
            #expect(batch.shape == [2, 1, 16, 8, 8])
            let values = batch.scalars
            for t in 0..<16 {
                #expect(values[t * 64] == Float(4 + t) / 255 && values[t * 64 + 63] == Float(4 + t) / 255)
                #expect(values[16 * 64 + t * 64] == Float(50 + t) / 255)
            }
            let training = try VideoClips(cache, length: 4, stride: 3)
            #expect(training.clips.filter { $0.video == 0 }.map(\.start) == [0, 3, 6, 9, 12, 15, 16])
            // Symmetric normalisation: (v / 255 − 0.5) / 0.5.
            #expect(try training.batch([1]).scalars[0] == (Float(3) - 127.5) / 127.5)
        }
    }

    @Test func testClipsCarryLabelsOfAnyAnomalousFrame() throws {
        try TinyVideos.withTree("video-labels") { root in
            let split = try VideoLayout.readShanghaiTech(root: root)
            let clips = try VideoClips(try VideoFrameCache(videos: split.test, options: TinyVideos.options), length: 8)
            // Video 01: 18 frames, anomalous from frame 10: clips 0...10, those from start 3 touch frame 10.
            #expect(clips.labels == (0..<11).map { $0 >= 3 ? 1 : 0 } + [Int](repeating: 0, count: 9))
        }
    }

    @Test func trainingClipsAreSeededAndReproducible() throws {
        try TinyVideos.withTree("video-training") { root in
            let split = try VideoLayout.readShanghaiTech(root: root)
            let pool = try VideoClips(try VideoFrameCache(videos: split.train, options: TinyVideos.options), length: 4, stride: 2)
            let a = try VideoTrainingClips(pool, count: 50, seed: 7)
            let b = try VideoTrainingClips(pool, count: 50, seed: 7)
            let defaultCount = try VideoTrainingClips(pool, seed: 0).count
            #expect(a.count == 50 && defaultCount == 10_000)
            let draws = (0..<50).map(a.poolIndex(of:))
            #expect(draws == (0..<50).map(b.poolIndex(of:)))
            #expect(Set(draws).count > 5 && draws.allSatisfy { (0..<pool.count).contains($0) })
            let other = try VideoTrainingClips(pool, count: 50, seed: 8)
            #expect(draws != (0..<50).map(other.poolIndex(of:)))
            #expect(draws != (0..<50).map(a.forEpoch(1).poolIndex(of:)))
            #expect(draws == (0..<50).map(a.forEpoch(1).forEpoch(0).poolIndex(of:)))
            // A batch is the pool's clips, whatever order it is asked in.
            #expect(try a.batch([3, 9]).scalars == pool.batch([draws[3], draws[9]]).scalars)
            #expect(try a.batch([9]).scalars == b.batch([9]).scalars)
            #expect(a.groups == draws.map { pool.clips[$0].video })
            #expect(a.origin(of: 3) == pool.origin(of: draws[3]))
        }
    }
}

@Suite("Video scores")
struct VideoScoreTests {
    @Test func frameScoresAreTheMeanOfTheClipsContainingThem() throws {
        // One video of 4 frames, clips of 2 at stride 1: frames see clips {0}, {0,1}, {1,2}, {2}.
        let clips = (0..<3).map { VideoClip(video: 0, start: $0, length: 2) }
        #expect(try VideoScores.frameScores(clipScores: [1, 2, 3], clips: clips, frameCounts: [4]) == [[1, 1.5, 2.5, 3]])
        // Two videos, clips of 3.
        let two = [VideoClip(video: 0, start: 0, length: 3), VideoClip(video: 1, start: 0, length: 3), VideoClip(video: 1, start: 1, length: 3)]
        #expect(try VideoScores.frameScores(clipScores: [4, 2, 6], clips: two, frameCounts: [3, 4]) == [[4, 4, 4], [2, 4, 4, 6]])
        #expect { try VideoScores.frameScores(clipScores: [1], clips: clips, frameCounts: [4]) } throws: { "\($0)".contains("1 scores for 3 clips") }
        #expect { try VideoScores.frameScores(clipScores: [1, 2], clips: Array(clips.prefix(2)), frameCounts: [4]) } throws: {
            "\($0)".contains("frame 3 of video 0")
        }
        #expect { try VideoScores.frameScores(clipScores: [1], clips: [VideoClip(video: 0, start: 3, length: 2)], frameCounts: [4]) } throws: { _ in true }
    }

    @Test func clipSourceMapsScoresToEveryFrame() throws {
        try TinyVideos.withTree("video-scores") { root in
            let split = try VideoLayout.readShanghaiTech(root: root)
            let clips = try VideoClips(try VideoFrameCache(videos: split.test, options: TinyVideos.options), length: 16)
            let frames = try clips.frameScores((0..<clips.count).map(Float.init))
            #expect(frames.map(\.count) == [18, 16])
            // Video 01 has clips 0, 1, 2 (scores 0, 1, 2): frame 0 in clip 0 only, frame 2 in all three.
            #expect(frames[0][0] == 0 && frames[0][2] == 1 && frames[0][17] == 2 && frames[1] == [Float](repeating: 3, count: 16))
        }
    }

    @Test func scoresAreMinMaxNormalisedPerVideo() {
        #expect(VideoScores.minMaxNormalized([2, 4, 6]) == [0, 0.5, 1])
        #expect(VideoScores.minMaxNormalized([5, 5, 5]) == [0, 0, 0])
        #expect(VideoScores.minMaxNormalized([3]) == [0] && VideoScores.minMaxNormalized([]).isEmpty)
        #expect(VideoScores.normalizedPerVideo([[1, 3], [7, 7], [-2, 0, 2]]) == [[0, 1], [0, 0], [0, 0.5, 1]])
    }
}

@Suite("Video frame cache")
struct VideoFrameCacheTests {
    @Test func framesAreKeptWithinTheBudget() throws {
        try TinyVideos.withTree("video-cache") { root in
            let split = try VideoLayout.readShanghaiTech(root: root)
            let all = try VideoFrameCache(videos: split.train, options: TinyVideos.options)
            try all.decodeAll()
            #expect(all.cachedFrameCount == 36 && all.cachedBytes == 36 * 64 && all.frameCount == 36)
            // Room for three frames: the first three are kept, the rest decoded on demand, all correct.
            let small = try VideoFrameCache(videos: split.train, options: TinyVideos.options, budgetBytes: 3 * 64 + 63)
            try small.decodeAll()
            #expect(small.cachedFrameCount == 3 && small.cachedBytes == 3 * 64)
            #expect(try small.frame(video: 1, frame: 7) == [UInt8](repeating: 57, count: 64))
            #expect(try small.frame(video: 0, frame: 1) == [UInt8](repeating: 1, count: 64))
            #expect(small.cachedFrameCount == 3)
            let none = try VideoFrameCache(videos: split.train, options: TinyVideos.options, budgetBytes: 0)
            #expect(try none.frame(video: 0, frame: 19) == [UInt8](repeating: 19, count: 64) && none.cachedBytes == 0)
            // Resized and in colour: 3 × 4 × 4 bytes a frame, grey repeated.
            let colour = try VideoFrameCache(videos: split.train, options: VideoFrameOptions(channels: 3, height: 4, width: 4))
            #expect(try colour.frame(video: 0, frame: 5) == [UInt8](repeating: 5, count: 48))
        }
    }

    @Test func backgroundRemovalKeepsWhatMoves() throws {
        let root = try makeTemporaryDirectory("video-background")
        defer { try? FileManager.default.removeItem(at: root) }
        // A grey 100 background with a 200 pixel that moves one column a frame along row 3.
        try TinyVideos.writeFrames(root.appendingPathComponent("v"), count: 5) { f in
            var pixels = [UInt8](repeating: 100, count: 64)
            pixels[3 * 8 + f + 1] = 200
            return pixels
        }
        let video = Video(name: "v", frames: try VideoLayout.sortedFrames(in: root.appendingPathComponent("v"), video: "v"))
        let plain = try VideoFrameCache(videos: [video], options: TinyVideos.options)
        #expect(try plain.frame(video: 0, frame: 2)[3 * 8 + 3] == 200 && plain.frame(video: 0, frame: 2)[0] == 100)
        var options = TinyVideos.options
        options.backgroundRemoval = BackgroundRemoval(threshold: 43, dilation: 0)
        let removed = try VideoFrameCache(videos: [video], options: options)
        #expect(try removed.background(video: 0) == [UInt8](repeating: 100, count: 64))
        var expected = [UInt8](repeating: 0, count: 64)
        expected[3 * 8 + 3] = 200
        #expect(try removed.frame(video: 0, frame: 2) == expected)
        // One dilation keeps the 4-neighbours too.
        options.backgroundRemoval = BackgroundRemoval(threshold: 43, dilation: 1)
        let dilated = try VideoFrameCache(videos: [video], options: options)
        for p in [2 * 8 + 3, 4 * 8 + 3, 3 * 8 + 2, 3 * 8 + 4] { expected[p] = 100 }
        #expect(try dilated.frame(video: 0, frame: 2) == expected)
        // Above the threshold, nothing is kept.
        options.backgroundRemoval = BackgroundRemoval(threshold: 100, dilation: 0)
        #expect(try VideoFrameCache(videos: [video], options: options).frame(video: 0, frame: 2) == [UInt8](repeating: 0, count: 64))
    }
}

@Suite("Video bad input")
struct VideoBadInputTests {
    @Test func aVideoFolderWithoutFramesIsNamed() throws {
        try TinyVideos.withTree("video-empty") { root in
            try FileManager.default.createDirectory(at: root.appendingPathComponent("training/frames/03"), withIntermediateDirectories: true)
            try writeBytes([0], to: root.appendingPathComponent("training/frames/03/readme.txt"))
            #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { "\($0)".contains("video 03 has no frames") }
        }
    }

    @Test func framesOfMixedSizesAreNamed() throws {
        try TinyVideos.withTree("video-mixed") { root in
            try writeBytes(makePNG(width: 6, height: 8, channels: 1, pixels: [UInt8](repeating: 9, count: 48)),
                           to: root.appendingPathComponent("training/frames/02/009.png"))
            let split = try VideoLayout.readShanghaiTech(root: root)
            let cache = try VideoFrameCache(videos: split.train, options: TinyVideos.options)
            #expect { try cache.frame(video: 1, frame: 9) } throws: { error in
                "\(error)".contains("video 02: frame 9 is 6x8") && "\(error)".contains("first frame is 8x8")
            }
            #expect { try cache.decodeAll() } throws: { "\($0)".contains("video 02") }
            // Found whichever frame is decoded first.
            let fresh = try VideoFrameCache(videos: split.train, options: TinyVideos.options)
            #expect { try fresh.frame(video: 1, frame: 9) } throws: { "\($0)".contains("video 02") }
        }
    }

    @Test func labelFilesOfTheWrongLengthOrTypeAreNamed() throws {
        try TinyVideos.withTree("video-labels-bad") { root in
            let file = root.appendingPathComponent("testing/test_frame_mask/02.npy")
            try TinyVideos.writeLabels(file, [UInt8](repeating: 0, count: 15))
            #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { "\($0)".contains("video 02 has 16 frames but 15 frame labels") }
            try writeBytes([UInt8](NumPyFiles.array((0..<16).map { _ in Int64(0) })), to: file)
            #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { error in
                "\(error)".contains("labels of video 02") && "\(error)".contains("<i8") && "\(error)".contains("uint8 or bool")
            }
            try TinyVideos.writeLabels(file, [UInt8](repeating: 0, count: 16), shape: [2, 8])
            #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { "\($0)".contains("labels of video 02") && "\($0)".contains("[2, 8]") }
            try TinyVideos.writeLabels(file, [UInt8](repeating: 2, count: 16))
            #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { "\($0)".contains("video 02: frame label 2 at frame 0") }
            try FileManager.default.removeItem(at: file)
            #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { "\($0)".contains("frame labels of test video 02") }
            // A label file for a video that has no frames.
            try TinyVideos.writeLabels(file, [UInt8](repeating: 0, count: 16))
            try TinyVideos.writeLabels(root.appendingPathComponent("testing/test_frame_mask/07.npy"), [0])
            #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { "\($0)".contains("video 07") }
        }
    }

    @Test func aVideoShorterThanAClipIsNamed() throws {
        try TinyVideos.withTree("video-short") { root in
            let split = try VideoLayout.readShanghaiTech(root: root)
            let cache = try VideoFrameCache(videos: split.train, options: TinyVideos.options)
            #expect { try VideoClips(cache, length: 17) } throws: { "\($0)".contains("video 02 has 16 frames, fewer than a clip of 17") }
            #expect { try VideoClips(cache, length: 16, stride: 0) } throws: { _ in true }
        }
    }

    @Test func missingFoldersAreNamed() throws {
        let root = try makeTemporaryDirectory("video-missing")
        defer { try? FileManager.default.removeItem(at: root) }
        #expect { try VideoLayout.readShanghaiTech(root: root) } throws: { "\($0)".contains("training/frames") }
        #expect { try VideoFrameCache(videos: [Video(name: "x", frames: [])]) } throws: { "\($0)".contains("video x has no frames") }
        #expect { try VideoFrameCache(videos: [], options: VideoFrameOptions(channels: 2)) } throws: { "\($0)".contains("channels") }
    }
}

@Suite("TIFF decoding")
struct TIFFDecodingTests {
    @Test func greyAndColourTIFFsDecodeInEitherByteOrder() throws {
        let grey: [UInt8] = (0..<12).map { UInt8($0 * 20) }
        for order in [false, true] {
            let image = try ImageDecoder.decode(bytes: makeTIFF(width: 4, height: 3, channels: 1, pixels: grey, bigEndianOrder: order),
                                                path: "grey.tif", channels: 1)
            #expect(image == ImageDecoder.Image(width: 4, height: 3, channels: 1, pixels: grey))
        }
        // Interleaved RGB in the file, planar out; to grey by BT.601 luma as for PNG.
        let rgb: [UInt8] = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30]
        let tiff = makeTIFF(width: 2, height: 2, channels: 3, pixels: rgb)
        let colour = try ImageDecoder.decode(bytes: tiff, path: "rgb.tif", channels: 3)
        #expect(colour.pixels == [255, 0, 0, 10, 0, 255, 0, 20, 0, 0, 255, 30])
        let png = try ImageDecoder.decode(bytes: makePNG(width: 2, height: 2, channels: 3, pixels: rgb), path: "rgb.png", channels: 1)
        #expect(try ImageDecoder.decode(bytes: tiff, path: "rgb.tif", channels: 1) == png)
        // Resized on request, as every format.
        #expect(try ImageDecoder.decode(bytes: makeTIFF(width: 4, height: 3, channels: 1, pixels: grey), path: "g.tif", channels: 1,
                                        size: (1, 2)).pixels.count == 2)
    }

    /// The fuzz seeds (scripts/make-fuzz-corpus.py) cover layouts the tests' writer does not.
    @Test func compressedPlanarAndPaletteTIFFsDecode() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fuzz/Corpus/fuzz-tiff")
        func decode(_ name: String, channels: Int) throws -> ImageDecoder.Image {
            try ImageDecoder.decode(path: corpus.appendingPathComponent(name).path, channels: channels)
        }
        // PackBits: runs and literals.
        let flat: [UInt8] = [UInt8](repeating: 9, count: 10) + [200, 3, 4] + [UInt8](repeating: 7, count: 3)
        #expect(try decode("grey8-4x4-packbits.tif", channels: 1).pixels == flat)
        // Separate planes in three strips come out as the same planes.
        let planar = try decode("rgb8-3x2-planar.tif", channels: 3)
        func pattern(_ count: Int, seed: Int) -> [UInt8] { (0..<count).map { (i: Int) -> UInt8 in UInt8((i * 37 + seed * 11 + (i * i) % 7) % 256) } }
        #expect(planar.width == 3 && planar.height == 2 && planar.pixels == pattern(18, seed: 3))
        // Two strips of grey, in order.
        #expect(try decode("grey8-6x4-two-strips.tif", channels: 1).pixels == pattern(24, seed: 1))
        // A 2-bit palette: indices 0 1 2 3 3 2 1 0 through the colour map (16-bit entries, high byte kept).
        let palette = try decode("palette2-4x2.tif", channels: 3)
        let red: [UInt8] = [0, 60, 120, 180], green: [UInt8] = [255, 195, 135, 75], blue: [UInt8] = [0, 78, 156, 234]
        let indices = [0, 1, 2, 3, 3, 2, 1, 0]
        let planes: [UInt8] = indices.map { red[$0] } + indices.map { green[$0] } + indices.map { blue[$0] }
        #expect(palette.pixels == planes)
    }

    @Test func corruptTIFFsAreMalformedNotPrinted() throws {
        let tiff = makeTIFF(width: 4, height: 3, channels: 1, pixels: [UInt8](repeating: 7, count: 12))
        // Cut inside the directory; and a header pointing past the end.
        #expect { try ImageDecoder.decode(bytes: Array(tiff.prefix(30)), path: "cut.tif", channels: 1) } throws: { error in
            guard case let DataError.malformed(path, message)? = error as? DataError else { return false }
            return path == "cut.tif" && message.contains("TIFF")
        }
        #expect { try ImageDecoder.decode(bytes: [0x49, 0x49, 0x2A, 0, 0xFF, 0xFF, 0, 0], path: "bad.tif", channels: 1) } throws: { error in
            "\(error)".contains("bad.tif") && "\(error)".contains("corrupt TIFF")
        }
    }

    @Test func ucsdTIFFFramesAreCached() throws {
        let root = try makeTemporaryDirectory("video-ucsd-tiff")
        defer { try? FileManager.default.removeItem(at: root) }
        for (folder, count) in [("Train/Train001", 4), ("Test/Test001", 3)] {
            for f in 1...count {
                try writeBytes(makeTIFF(width: 6, height: 4, channels: 1, pixels: [UInt8](repeating: UInt8(10 * f), count: 24)),
                               to: root.appendingPathComponent("\(folder)/\(String(format: "%03d", f)).tif"))
            }
        }
        let split = try VideoLayout.readUCSD(root: root, groundTruth: [[2...3]])
        let cache = try VideoFrameCache(videos: split.test, options: VideoFrameOptions(channels: 1, height: 2, width: 3))
        #expect(try cache.frame(video: 0, frame: 2) == [UInt8](repeating: 30, count: 6))
        let clips = try VideoClips(cache, length: 2)
        #expect(clips.count == 2 && clips.labels == [1, 1] && clips.origin(of: 1) == "video Test001, frames 1–2")
    }
}
