import MOCCA

/// What a video report shows, as plain values: frame-level metrics over all test videos,
/// and each video's per-frame scores against its ground truth. The caller (the
/// `mocca report` command, a test) scores the videos and fills this in; ``ReportWriter``
/// turns it into a folder with an HTML page and one PNG curve per video.
public struct VideoReport: Sendable {
    /// One test video: its frames' labels and its score curves.
    public struct Video: Sendable {
        /// The video's name (its folder), shown, never used as a file name.
        public var name: String
        /// Each frame's label: 0 normal, 1 anomalous.
        public var labels: [Int]
        /// The curves drawn, by name (say "combined", "one-class", "reconstruction"), each
        /// one score per frame, on the scale the metrics use (min-max normalised within the
        /// video, the combined score their sum).
        public var curves: [(name: String, scores: [Float])]

        /// A video from its parts.
        public init(name: String, labels: [Int], curves: [(name: String, scores: [Float])]) {
            (self.name, self.labels, self.curves) = (name, labels, curves)
        }
    }

    /// One row of the results table: a score and its frame-level metrics.
    public struct Row: Sendable {
        /// The score's name.
        public var name: String
        /// Its frame-level AUROC and AUPR over all test videos.
        public var auroc: Double, aupr: Double

        /// A row from its parts.
        public init(name: String, auroc: Double, aupr: Double) { (self.name, self.auroc, self.aupr) = (name, auroc, aupr) }
    }

    /// The page's heading.
    public var title: String
    /// Lines describing the detector and the data; shown as a list.
    public var detectorDescription: [String]
    /// The frame-level results, the headline score first.
    public var rows: [Row]
    /// The per-tap AUROCs, for a bar chart; empty to leave it out.
    public var taps: [Row]
    /// The test videos, in order.
    public var videos: [Video]

    /// A report from its parts.
    public init(title: String, detectorDescription: [String], rows: [Row], taps: [Row], videos: [Video]) {
        self.title = title
        self.detectorDescription = detectorDescription
        self.rows = rows
        self.taps = taps
        self.videos = videos
    }

    /// Checks that the values fit together.
    /// - Throws: ``ReportError/invalidReport(_:)`` naming the first video or row that does not.
    public func validate() throws {
        guard !videos.isEmpty else { throw ReportError.invalidReport("a video report needs at least one video") }
        for row in rows + taps where !(row.auroc.isFinite && row.aupr.isFinite) {
            throw ReportError.invalidReport("the metrics of '\(row.name)' are not finite")
        }
        for video in videos {
            guard !video.labels.isEmpty, video.labels.allSatisfy({ $0 == 0 || $0 == 1 }) else {
                throw ReportError.invalidReport("video '\(video.name)' needs one label (0 or 1) per frame")
            }
            for curve in video.curves where curve.scores.count != video.labels.count || !curve.scores.allSatisfy(\.isFinite) {
                throw ReportError.invalidReport("video '\(video.name)': the curve '\(curve.name)' has \(curve.scores.count) scores for \(video.labels.count) frames, or a non-finite one")
            }
        }
    }
}
