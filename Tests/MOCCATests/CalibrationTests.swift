import Foundation
import MOCCA
import MOCCACore
import Testing

@Suite("Threshold calibration", .serialized)
struct CalibrationTests {
    @Test func fitStoresTheTrainingScoresAndTheDefaultThresholdIsTheirQuantile() throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration())
        #expect(detector.trainingScores.count == DetectorTests.train.shape[0])
        #expect(detector.trainingScores == (try detector.score(DetectorTests.train)).overall)
        #expect(detector.threshold == quantile(detector.trainingScores, 1 - detector.configuration.nu))
    }

    @Test func contaminationUsesTheStoredTrainingScores() throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration())
        try detector.calibrate(.contamination(rate: 0.25))
        #expect(detector.threshold == quantile(detector.trainingScores, 0.75))
        #expect(detector.thresholdRule == .contamination(rate: 0.25))
    }

    @Test func falsePositiveRateFlagsAboutThatShareOfHeldOutNormals() throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration())
        let heldOut = try SyntheticImages.normal(count: 20, seed: 99)
        try detector.calibrate(.falsePositiveRate(rate: 0.2), heldOutNormal: TensorSource(heldOut))
        let flagged = try detector.predict(heldOut).filter { $0 }.count
        // The 0.8 quantile of 20 scores interpolates between the 16th and 17th: 3 or 4 lie above.
        #expect((3...4).contains(flagged), "flagged \(flagged) of 20")
    }

    @Test func falsePositiveRateWithoutHeldOutImagesIsAnError() throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration())
        #expect(throws: MOCCAError.self) { try detector.calibrate(.falsePositiveRate(rate: 0.1)) }
    }

    @Test func calibrationSurvivesSaveAndLoad() throws {
        let detector = try DetectorTests.fitted(DetectorTests.configuration())
        try detector.calibrate(.value(0.5))
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("mocca-calibration-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try detector.save(to: folder)
        let loaded = try MOCCADetector.load(from: folder)
        #expect(loaded.threshold == 0.5)
        #expect(loaded.thresholdRule == .value(0.5))
        #expect(loaded.trainingScores == detector.trainingScores)
        try loaded.calibrate(.contamination(rate: 0.1))
        #expect(loaded.threshold == quantile(detector.trainingScores, 0.9))
    }

    @Test func calibratingAnUnfittedDetectorIsAnError() throws {
        let detector = try MOCCADetector(configuration: DetectorTests.configuration())
        #expect(throws: MOCCAError.notFitted) { try detector.calibrate(.value(1)) }
    }
}
