import Foundation
import MOCCA
import MOCCAData
import Testing

/// Checks on the real data sets, skipped unless `MOCCA_DATA` names a folder laid out by
/// `../shared/data/unpack` (with `mnist/*.gz`). Not part of the default run's coverage:
/// the project ships no copy of these sets.
@Suite("Real-data checks (MOCCA_DATA)")
struct RealDataChecks {
    static let root = ProcessInfo.processInfo.environment["MOCCA_DATA"]
    static var mnist: String? {
        root.map { ($0 as NSString).appendingPathComponent("mnist") }
            .flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
    }

    /// Deep SVDD's published MNIST min-max constants after L1 global contrast
    /// normalisation (Ruff et al., 2018, `datasets/mnist.py`), one pair per class.
    static let deepSVDDMNIST: [(Double, Double)] = [
        (-0.8826567065619495, 9.001545489292527), (-0.6661464580883915, 20.108062262467364),
        (-0.7820454743183202, 11.665100841080346), (-0.7645772083211267, 12.895051191467457),
        (-0.7253923114302238, 12.683235701611533), (-0.7698501867861425, 13.103278415430502),
        (-0.778418217980696, 10.457837397569108), (-0.7129780970522351, 12.057777597673047),
        (-0.8280402650205075, 10.581538445782988), (-0.7369959242164307, 10.697039838804978),
    ]

    @Test(.enabled(if: mnist != nil, "set MOCCA_DATA to a folder holding mnist/*.gz"), arguments: 0..<10)
    func preprocessingMatchesDeepSVDDsMNISTConstants(normalClass: Int) throws {
        let split = try OneClassSplit.load(.mnist, path: try #require(Self.mnist), normalClass: "\(normalClass)")
        let fitted = try Preprocessor.fit(on: split.train)
        let (minimum, maximum) = Self.deepSVDDMNIST[normalClass]
        #expect(abs(Double(fitted.minimum) - minimum) <= 1e-5 * abs(minimum), "class \(normalClass) min \(fitted.minimum) vs \(minimum)")
        #expect(abs(Double(fitted.maximum) - maximum) <= 1e-5 * abs(maximum), "class \(normalClass) max \(fitted.maximum) vs \(maximum)")
    }
}
