import Foundation

/// One video of a video anomaly-detection data set: its frame files in playing order and,
/// for a test video, one label per frame.
public struct Video: Sendable, Equatable {
    /// The video's name: its folder's name (`01`, `Test001`).
    public var name: String
    /// The paths of its frames, in playing order (see ``VideoLayout/sortedFrames(in:video:)``).
    public var frames: [String]
    /// One label per frame, 0 normal and 1 anomalous; nil for a video without labels
    /// (training videos, which are all normal).
    public var labels: [UInt8]?

    /// A video from its parts; ``VideoLayout`` checks that `labels`, when given, has one
    /// entry per frame.
    public init(name: String, frames: [String], labels: [UInt8]? = nil) {
        self.name = name
        self.frames = frames
        self.labels = labels
    }

    /// The number of frames.
    public var frameCount: Int { frames.count }
}

/// The videos of a data set: normal training videos and labelled test videos.
public struct VideoSplit: Sendable, Equatable {
    /// The training videos (normal, unlabelled), in name order.
    public var train: [Video]
    /// The test videos, in name order, each with its per-frame labels.
    public var test: [Video]

    /// A split from its parts.
    public init(train: [Video], test: [Video]) {
        self.train = train
        self.test = test
    }
}

/// Readers of the folder layouts of video anomaly-detection data sets.
///
/// - ShanghaiTech's (``readShanghaiTech(root:)``), which UCSD Ped2 as prepared by HF2-VAD
///   follows: `training/frames/<video>/NNN.jpg`, `testing/frames/<video>/NNN.jpg` and
///   `testing/test_frame_mask/<video>.npy` (one uint8 or bool per frame, 1 = anomalous).
/// - UCSD's own (``readUCSD(root:groundTruth:)``): `Train/TrainNNN/NNN.tif` and
///   `Test/TestNNN/NNN.tif`, the frame labels coming from the ranges of the data set's
///   `UCSDped2.m` (see ``parseUCSDGroundTruth(_:path:)``). Its TIFF frames decode through
///   libtiff (``ImageDecoder``).
///
/// Every error names the video it concerns.
public enum VideoLayout {
    /// The file extensions taken as frames (compared without case).
    public static let frameExtensions: Set<String> = ["jpg", "jpeg", "png", "tif", "tiff"]

    /// Reads the ShanghaiTech layout under `root`.
    ///
    /// Every folder under `training/frames` is a training video, every folder under
    /// `testing/frames` a test video whose labels are `testing/test_frame_mask/<video>.npy`.
    /// - Throws: ``DataError/missing(path:expected:)`` for a missing folder or label file;
    ///   ``DataError/malformed(path:message:)`` for a video without frames, a label file
    ///   whose length is not the video's frame count, or a label file for no video;
    ///   ``DataError/unsupported(path:message:)`` for a label file that is not 1-D uint8 or bool.
    public static func readShanghaiTech(root: URL) throws -> VideoSplit {
        let trainFolder = root.appendingPathComponent("training/frames")
        let testFolder = root.appendingPathComponent("testing/frames")
        let maskFolder = root.appendingPathComponent("testing/test_frame_mask")
        let train = try videoFolders(in: trainFolder, expected: "training videos, one folder of frames each (training/frames/<video>/)")
            .map { try video(at: $0) }
        let testFolders = try videoFolders(in: testFolder, expected: "test videos, one folder of frames each (testing/frames/<video>/)")
        guard isDirectory(maskFolder) else {
            throw DataError.missing(path: maskFolder.path, expected: "the per-frame labels of the test videos (testing/test_frame_mask/<video>.npy)")
        }
        var test: [Video] = []
        for folder in testFolders {
            var video = try video(at: folder)
            let labelFile = maskFolder.appendingPathComponent(video.name + ".npy")
            guard FileManager.default.fileExists(atPath: labelFile.path) else {
                throw DataError.missing(path: labelFile.path, expected: "the frame labels of test video \(video.name)")
            }
            video.labels = try frameLabels(contentsOf: labelFile, video: video.name, frameCount: video.frameCount)
            test.append(video)
        }
        let names = Set(test.map(\.name))
        let labelFiles = (try? FileManager.default.contentsOfDirectory(atPath: maskFolder.path)) ?? []
        if let stray = labelFiles.filter({ $0.lowercased().hasSuffix(".npy") }).sorted().first(where: { !names.contains(String($0.dropLast(4))) }) {
            throw DataError.malformed(path: maskFolder.appendingPathComponent(stray).path,
                                      message: "frame labels for video \(stray.dropLast(4)), which has no folder of frames in \(testFolder.path)")
        }
        return VideoSplit(train: train, test: test)
    }

    /// Reads UCSD's own layout under `root` (`Train/TrainNNN/`, `Test/TestNNN/`; the
    /// `TestNNN_gt` folders of pixel masks are skipped).
    /// - Parameter groundTruth: the anomalous frames of each test video in order, as
    ///   1-based inclusive ranges (``parseUCSDGroundTruth(_:path:)`` reads them from
    ///   `UCSDped2.m`); nil leaves the test videos unlabelled.
    /// - Throws: ``DataError`` for missing folders, videos without frames, a ground truth
    ///   with another number of videos, or a range outside its video's frames.
    public static func readUCSD(root: URL, groundTruth: [[ClosedRange<Int>]]?) throws -> VideoSplit {
        let train = try videoFolders(in: root.appendingPathComponent("Train"), expected: "training videos (Train/TrainNNN/)")
            .map { try video(at: $0) }
        var test = try videoFolders(in: root.appendingPathComponent("Test"), expected: "test videos (Test/TestNNN/)")
            .map { try video(at: $0) }
        if let groundTruth {
            guard groundTruth.count == test.count else {
                throw DataError.malformed(path: root.appendingPathComponent("Test").path,
                                          message: "the ground truth lists \(groundTruth.count) test videos, the folder has \(test.count)")
            }
            for index in test.indices {
                test[index].labels = try labels(ranges: groundTruth[index], video: test[index])
            }
        }
        return VideoSplit(train: train, test: test)
    }

    /// The per-frame labels of a video from 1-based inclusive ranges of anomalous frames.
    /// - Throws: ``DataError/malformed(path:message:)`` naming the video for a range
    ///   outside `1...frameCount`.
    public static func labels(ranges: [ClosedRange<Int>], video: Video) throws -> [UInt8] {
        var labels = [UInt8](repeating: 0, count: video.frameCount)
        for range in ranges {
            guard range.lowerBound >= 1, range.upperBound <= video.frameCount else {
                throw DataError.malformed(path: video.frames.first.map { ($0 as NSString).deletingLastPathComponent } ?? video.name,
                                          message: "video \(video.name): anomalous frames \(range.lowerBound)–\(range.upperBound) outside its frames 1–\(video.frameCount)")
            }
            for frame in range { labels[frame - 1] = 1 }
        }
        return labels
    }

    /// The anomalous frame ranges of each test video, from the text of UCSD's ground-truth
    /// script (`UCSDped1.m`, `UCSDped2.m`): one list per `gt_frame = [a:b, c:d];` line, in
    /// order, each entry `a:b` or a single frame `a`, 1-based and inclusive.
    /// - Parameter path: names the script in errors.
    /// - Throws: ``DataError/malformed(path:message:)`` for an entry that is not a range.
    public static func parseUCSDGroundTruth(_ text: String, path: String = "UCSD ground truth") throws -> [[ClosedRange<Int>]] {
        var videos: [[ClosedRange<Int>]] = []
        for line in text.split(whereSeparator: \.isNewline) {
            let code = line.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard code.contains("gt_frame"), let open = code.firstIndex(of: "["), let close = code.lastIndex(of: "]"), open < close else { continue }
            let entries = code[code.index(after: open)..<close].split(whereSeparator: { $0 == "," || $0 == ";" || $0 == " " })
            videos.append(try entries.map { entry in
                let bounds = entry.split(separator: ":", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard (1...2).contains(bounds.count), let low = bounds[0], let high = bounds.last ?? nil, low <= high else {
                    throw DataError.malformed(path: path, message: "video \(videos.count + 1): '\(entry)' is not a frame range a:b")
                }
                return low...high
            })
        }
        return videos
    }

    /// The frames of the video in `folder`: the files with a frame extension, hidden files
    /// skipped, in natural order (digit runs compare as numbers, so `2.jpg` comes before
    /// `10.jpg`; zero-padded names sort as they read).
    /// - Throws: ``DataError/malformed(path:message:)`` naming the video when there are none.
    public static func sortedFrames(in folder: URL, video: String) throws -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw DataError.unreadable(path: folder.path, reason: "the folder of video \(video): \(error.localizedDescription)")
        }
        let frames = names.filter { !$0.hasPrefix(".") && frameExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted(by: naturalOrder)
        guard !frames.isEmpty else {
            throw DataError.malformed(path: folder.path, message: "video \(video) has no frames (files ending in \(frameExtensions.sorted().map { "." + $0 }.joined(separator: ", ")))")
        }
        return frames.map { folder.appendingPathComponent($0).path }
    }

    /// Reads a label file of a video: a 1-D `.npy` array of uint8 or bool, one 0 or 1 per frame.
    /// - Throws: ``DataError/unsupported(path:message:)`` for another dtype or shape,
    ///   ``DataError/malformed(path:message:)`` for a length other than `frameCount` or a
    ///   value other than 0 and 1; every message names the video.
    public static func frameLabels(contentsOf url: URL, video: String, frameCount: Int) throws -> [UInt8] {
        let data = try readWholeFile(url, expected: "the frame labels of video \(video)")
        let header = try data.withUnsafeBytes { try npyHeader(UnsafeRawBufferPointer($0), path: url.path) }
        let isByte = (header.dtype.kind == .unsignedInteger && header.dtype.size == 1) || header.dtype.kind == .boolean
        guard isByte, header.shape.count == 1 else {
            throw DataError.unsupported(path: url.path, message: "the labels of video \(video) are '\(header.descr)' of shape \(header.shape); expected a 1-D uint8 or bool array, one 0 or 1 per frame")
        }
        let array = try NumPyArray.read(from: data, path: url.path)
        guard array.scalars.count == frameCount else {
            throw DataError.malformed(path: url.path, message: "video \(video) has \(frameCount) frames but \(array.scalars.count) frame labels")
        }
        if let bad = array.scalars.firstIndex(where: { $0 != 0 && $0 != 1 }) {
            throw DataError.malformed(path: url.path, message: "video \(video): frame label \(Int(array.scalars[bad])) at frame \(bad); expected 0 (normal) or 1 (anomalous)")
        }
        return array.scalars.map { UInt8($0) }
    }

    /// The header of a `.npy` file, for its dtype and shape (the array itself is read by
    /// ``NumPyArray``, which checks the rest).
    static func npyHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> NumPyHeader {
        guard bytes.count >= 10, Array(bytes[0..<6]) == NumPyArray.magic else {
            throw DataError.malformed(path: path, message: "not a .npy file (no \\x93NUMPY magic string)")
        }
        let (start, length) = bytes[6] == 1 ? (10, Int(bytes[8]) | Int(bytes[9]) << 8)
            : (12, bytes.count >= 12 ? (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) } : Int.max)
        guard length <= bytes.count - start else { throw DataError.malformed(path: path, message: "truncated .npy header") }
        return try NumPyHeader(Array(bytes[start..<(start + length)]), path: path)
    }

    /// Whether `a` comes before `b` with digit runs compared as numbers.
    public static func naturalOrder(_ a: String, _ b: String) -> Bool {
        var i = a.unicodeScalars.makeIterator(), j = b.unicodeScalars.makeIterator()
        var x = i.next(), y = j.next()
        func isDigit(_ s: Unicode.Scalar?) -> Bool { s.map { ("0"..."9").contains($0) } ?? false }
        while let p = x, let q = y {
            if isDigit(p) && isDigit(q) {
                var left = "", right = ""
                while let d = x, isDigit(d) { left.unicodeScalars.append(d); x = i.next() }
                while let d = y, isDigit(d) { right.unicodeScalars.append(d); y = j.next() }
                let l = left.drop(while: { $0 == "0" }), r = right.drop(while: { $0 == "0" })
                if l.count != r.count { return l.count < r.count }
                if l != r { return l < r }
                if left.count != right.count { return left.count < right.count }
            } else {
                if p != q { return p.value < q.value }
                x = i.next()
                y = j.next()
            }
        }
        return x == nil && y != nil
    }

    /// The video folders in `folder`, in natural order: subfolders, hidden ones and UCSD's
    /// `_gt` mask folders skipped.
    static func videoFolders(in folder: URL, expected: String) throws -> [URL] {
        guard isDirectory(folder) else { throw DataError.missing(path: folder.path, expected: expected) }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { !$0.hasPrefix(".") && !$0.hasSuffix("_gt") && isDirectory(folder.appendingPathComponent($0)) }
            .sorted(by: naturalOrder)
        guard !names.isEmpty else { throw DataError.wrongLayout(path: folder.path, expected: expected) }
        return names.map { folder.appendingPathComponent($0) }
    }

    static func video(at folder: URL) throws -> Video {
        let name = folder.lastPathComponent
        return Video(name: name, frames: try sortedFrames(in: folder, video: name))
    }

    static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }
}
