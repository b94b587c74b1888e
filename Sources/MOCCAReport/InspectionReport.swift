import MOCCA
import MOCCAData

/// What an inspection report shows, as plain values: the caller (the `mocca report`
/// command, a notebook, a test) scores the test images and fills this in;
/// ``ReportWriter`` turns it into a folder with an HTML page and PNG figures.
public struct InspectionReport: Sendable {
    /// One test image shown in full: the most anomalous ones, typically.
    public struct Example: Sendable {
        /// The image's name, as the user knows it (a file name, say); shown, never used as
        /// a file name.
        public var name: String
        /// The image as tested, grey or RGB.
        public var image: ImageDecoder.Image
        /// The anomaly map at the image's size (row-major `height × width`), if the
        /// detector makes one; shown as a heat map over the image.
        public var anomalyMap: [Float]?
        /// The ground-truth defect mask at the image's size (non-zero: defect), if known;
        /// outlined on the heat map (or on the image without one).
        public var mask: [UInt8]?
        /// The image's anomaly score.
        public var score: Float
        /// The image's label (0 normal, 1 anomaly) and defect type, if known.
        public var label: Int?, defectType: String?

        /// An example from its parts.
        public init(name: String, image: ImageDecoder.Image, anomalyMap: [Float]? = nil, mask: [UInt8]? = nil,
                    score: Float, label: Int? = nil, defectType: String? = nil) {
            self.name = name
            self.image = image
            self.anomalyMap = anomalyMap
            self.mask = mask
            self.score = score
            self.label = label
            self.defectType = defectType
        }
    }

    /// The page's heading, e.g. "MVTec AD bottle".
    public var title: String
    /// Lines describing the detector and the data (network, taps, training set, date);
    /// shown as a list.
    public var detectorDescription: [String]
    /// The anomaly score of every test image, higher meaning more anomalous.
    public var scores: [Float]
    /// The label of every test image: 0 normal, 1 anomaly.
    public var labels: [Int]
    /// The defect type of every test image (MVTec AD's folder names: "good", "crack",
    /// ...), or empty when unknown. The AUROC per type compares the normal images (label
    /// 0) with the anomalous images of that type.
    public var defectTypes: [String]
    /// The names of the score channels (taps), and each channel's score per test image
    /// (`channelScores[channel][image]`); both empty to leave the per-tap figure out.
    public var channelNames: [String], channelScores: [[Float]]
    /// The decision threshold: a score above it is called anomalous.
    public var threshold: Float
    /// The images shown in full, in the order given (see ``mostAnomalous(_:count:)``).
    public var examples: [Example]
    /// Pixel-level metrics, when anomaly maps and masks were evaluated.
    public var pixelMetrics: PixelMetrics?
    /// Where test images are not independent (MTD's photos of one tile), an id per image
    /// shared within a group: the AUROC's interval then counts groups. Nil: independent.
    public var groups: [Int]?

    /// A report from its parts; see the properties for what each holds.
    public init(title: String, detectorDescription: [String] = [], scores: [Float], labels: [Int],
                defectTypes: [String] = [], channelNames: [String] = [], channelScores: [[Float]] = [],
                threshold: Float, examples: [Example] = [], pixelMetrics: PixelMetrics? = nil, groups: [Int]? = nil) {
        self.title = title
        self.detectorDescription = detectorDescription
        self.scores = scores
        self.labels = labels
        self.defectTypes = defectTypes
        self.channelNames = channelNames
        self.channelScores = channelScores
        self.threshold = threshold
        self.examples = examples
        self.pixelMetrics = pixelMetrics
        self.groups = groups
    }

    /// The indices of the `count` highest scores, highest first (ties by index): which
    /// test images to load and pass as ``examples``.
    public static func mostAnomalous(_ scores: [Float], count: Int) -> [Int] {
        Array(scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }.prefix(max(count, 0)))
    }

    /// The AUROC of each defect type against the normal images, sorted by type: the
    /// types with at least one anomalous image, with that image count.
    /// - Throws: ``ReportError/invalidReport(_:)`` as ``validate()``, or when there are no
    ///   normal images.
    public func aurocByDefectType() throws -> [(type: String, count: Int, auroc: Double)] {
        try validate()
        guard !defectTypes.isEmpty else { return [] }
        let normal = labels.indices.filter { labels[$0] != 1 }
        let types = Set(labels.indices.filter { labels[$0] == 1 }.map { defectTypes[$0] }).sorted()
        return try types.map { type in
            let members = labels.indices.filter { labels[$0] == 1 && defectTypes[$0] == type }
            let indices = normal + members
            let metrics = try evaluation { try DetectionMetrics(scores: indices.map { scores[$0] }, labels: indices.map { labels[$0] == 1 ? 1 : 0 }) }
            return (type, members.count, metrics.auroc)
        }
    }

    /// Throws ``ReportError/invalidReport(_:)`` unless the parts fit together: one label
    /// (0 or 1) and at most one defect type per score, finite scores and threshold, one
    /// score per image in every channel, and examples whose maps and masks are the
    /// size of their image.
    public func validate() throws {
        func fail(_ message: String) -> ReportError { .invalidReport(message) }
        guard !scores.isEmpty, scores.count == labels.count else { throw fail("\(scores.count) scores for \(labels.count) labels") }
        guard labels.allSatisfy({ $0 == 0 || $0 == 1 }) else { throw fail("labels must be 0 (normal) or 1 (anomaly)") }
        guard scores.allSatisfy(\.isFinite), threshold.isFinite else { throw fail("a score or the threshold is NaN or infinite") }
        guard defectTypes.isEmpty || defectTypes.count == scores.count else {
            throw fail("\(defectTypes.count) defect types for \(scores.count) images")
        }
        guard channelNames.count == channelScores.count, channelScores.allSatisfy({ $0.count == scores.count }) else {
            throw fail("\(channelNames.count) channel names for \(channelScores.count) channels, each needing \(scores.count) scores")
        }
        for example in examples {
            let image = example.image, plane = image.width * image.height
            guard image.width > 0, image.height > 0, image.channels == 1 || image.channels == 3,
                  image.pixels.count == plane * image.channels else {
                throw fail("the image of example '\(example.name)' is not grey or RGB bytes of its size")
            }
            guard example.anomalyMap.map({ $0.count == plane && $0.allSatisfy(\.isFinite) }) ?? true,
                  example.mask.map({ $0.count == plane }) ?? true else {
                throw fail("the anomaly map or mask of example '\(example.name)' is not \(image.width)x\(image.height) (finite values)")
            }
        }
    }

    /// `body`'s result, a MOCCA evaluation error turned into ``ReportError/invalidReport(_:)``.
    func evaluation<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as MOCCAError { throw ReportError.invalidReport("\(error)") }
    }
}

/// An error making a report.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    /// The report's values do not fit together (counts, labels, sizes).
    case invalidReport(String)
    /// The destination exists and is not a report folder this writer made (no marker
    /// file), so it is left alone.
    case notAReportFolder(path: String)
    /// The folder or one of its files could not be written.
    case unwritable(path: String, reason: String)

    /// A readable description of the error.
    public var description: String {
        switch self {
        case .invalidReport(let message): return "cannot make the report: \(message)"
        case .notAReportFolder(let path):
            return "\(path) exists and is not a report folder; choose a new or empty folder, or remove it first"
        case let .unwritable(path, reason): return "\(path): cannot be written: \(reason)"
        }
    }
}
