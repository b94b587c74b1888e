import Foundation
import MOCCA
import MOCCAData
import MOCCAReport

/// A synthetic inspection of 64×64 RGB images: a textured grey surface, defects drawn as
/// dark scratches or round holes, anomaly maps that light up around them (with noise),
/// and scores that mostly, not always, separate the classes. Deterministic.
enum DemoReport {
    static let size = 64

    struct Sample {
        let image: ImageDecoder.Image, map: [Float], mask: [UInt8], score: Float, label: Int, type: String
    }

    /// A deterministic value in [0, 1) from integers.
    static func noise(_ a: Int, _ b: Int, _ c: Int = 0) -> Float {
        let h = (a &* 73_856_093) ^ (b &* 19_349_663) ^ (c &* 83_492_791)
        return Float(UInt32(truncatingIfNeeded: h &* 2_654_435_761) >> 8) / Float(1 << 24)
    }

    static func sample(_ index: Int) -> Sample {
        let types = ["good", "good", "scratch", "good", "hole", "good", "good", "scratch", "hole", "good"]
        let type = types[index % types.count], plane = size * size
        var mask = [UInt8](repeating: 0, count: plane)
        let cx = 12 + Int(noise(index, 1) * 40), cy = 12 + Int(noise(index, 2) * 40)
        for y in 0..<size {
            for x in 0..<size {
                let inside: Bool
                switch type {
                case "scratch": inside = abs((x - cx) - (y - cy)) <= 1 && abs(x - cx) < 10
                case "hole": inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= 25
                default: inside = false
                }
                if inside { mask[y * size + x] = 1 }
            }
        }
        var pixels = [UInt8](repeating: 0, count: 3 * plane)
        for p in 0..<plane {
            let grain = 150 + Int(noise(p, index, 3) * 40) + (p / size % 8 < 4 ? 10 : 0)
            let value = mask[p] != 0 ? grain / 3 : grain
            pixels[p] = UInt8(min(value + 10, 255))
            pixels[plane + p] = UInt8(value)
            pixels[2 * plane + p] = UInt8(max(value - 15, 0))
        }
        let image = ImageDecoder.Image(width: size, height: size, channels: 3, pixels: pixels)
        let raw = (0..<plane).map { p in Float(mask[p]) * 2 + noise(p, index, 4) * 0.6 }
        let map = (try? HeatMap.smooth(raw, width: size, height: size, sigma: 2)) ?? raw
        let label = type == "good" ? 0 : 1
        // Overlapping classes: a few defects score low, a few normal images high.
        let score = Float(label) * 0.45 + noise(index, 5) * 0.7 + (map.max() ?? 0) * 0.05
        return Sample(image: image, map: map, mask: mask, score: score, label: label, type: type)
    }

    /// The report of 60 such images, with three taps and the 6 most anomalous in full.
    static func make(examples count: Int = 6) throws -> InspectionReport {
        let samples = (0..<60).map(sample)
        let scores = samples.map(\.score), labels = samples.map(\.label)
        let taps = (0..<3).map { tap in samples.enumerated().map { i, s in s.score * Float(tap + 1) / 3 + noise(i, tap, 6) * Float(tap) } }
        let pixel = try PixelMetrics(maps: samples.map(\.map), masks: samples.map(\.mask), width: size, height: size)
        let examples = InspectionReport.mostAnomalous(scores, count: count).map { i in
            InspectionReport.Example(name: "test/\(samples[i].type)/\(String(format: "%03d", i)).png", image: samples[i].image,
                                     anomalyMap: samples[i].map, mask: samples[i].mask, score: samples[i].score,
                                     label: samples[i].label, defectType: samples[i].type)
        }
        return InspectionReport(
            title: "Synthetic surface <demo>", detectorDescription: ["network: cifar10-lenet, taps encoder.1, latent", "trained on 200 normal images"],
            scores: scores, labels: labels, defectTypes: samples.map(\.type), channelNames: ["encoder.1", "latent", "reconstruction"],
            channelScores: taps, threshold: quantile(scores.enumerated().filter { labels[$0.offset] == 0 }.map(\.element), 0.95),
            examples: examples, pixelMetrics: pixel)
    }
}
