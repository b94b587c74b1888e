import Foundation

/// Synthetic industrial-inspection images: a smooth, seeded texture, and the same texture
/// with a bright square "defect" whose mask marks exactly that square.
public enum SyntheticInspection {
    /// A defect painted into an image: its top-left corner and side, in pixels.
    public struct Defect: Sendable {
        public var y: Int, x: Int, side: Int
        public init(y: Int, x: Int, side: Int) { (self.y, self.x, self.side) = (y, x, side) }
    }

    /// Interleaved pixels of a `size × size` texture (stripes with seeded phase and noise),
    /// with `defect` painted white when given.
    public static func pixels(size: Int, channels: Int, seed: Int, defect: Defect? = nil) -> [UInt8] {
        var state = UInt64(truncatingIfNeeded: seed) &* 6364136223846793005 &+ 1442695040888963407
        func noise() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 40) / Double(1 << 24) - 0.5
        }
        let phase = Double(seed % 7)
        var out = [UInt8](repeating: 0, count: size * size * channels)
        for y in 0..<size {
            for x in 0..<size {
                let base = 110 + 40 * sin(Double(x) * 0.7 + phase) + 20 * cos(Double(y) * 0.45)
                for c in 0..<channels {
                    var value = base + 12 * noise() + Double(c * 10)
                    if let d = defect, (d.y..<(d.y + d.side)).contains(y), (d.x..<(d.x + d.side)).contains(x) { value = 250 }
                    out[(y * size + x) * channels + c] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        return out
    }

    /// The mask of `defect` in a `size × size` image: 255 inside, 0 outside.
    public static func mask(size: Int, defect: Defect) -> [UInt8] {
        let rows = defect.y..<(defect.y + defect.side), columns = defect.x..<(defect.x + defect.side)
        return (0..<(size * size)).map { rows.contains($0 / size) && columns.contains($0 % size) ? 255 : 0 }
    }

    /// Writes an MVTec AD category: `train/good` (`trainCount` images), `test/good`
    /// (`goodTestCount`), `test/<type>` with `defectCount` images per type and their masks
    /// in `ground_truth/<type>/<name>_mask.png` (unless `masks` is false).
    /// - Returns: the category folder.
    @discardableResult
    public static func writeMVTecCategory(root: URL, category: String, size: Int, channels: Int,
                                          trainCount: Int = 6, goodTestCount: Int = 3,
                                          defectTypes: [String] = ["scratch", "hole"], defectCount: Int = 2,
                                          masks: Bool = true) throws -> URL {
        let folder = root.appendingPathComponent(category)
        for i in 0..<trainCount {
            try write(folder.appendingPathComponent("train/good/\(String(format: "%03d", i)).png"), size: size, channels: channels,
                      pixels: pixels(size: size, channels: channels, seed: i))
        }
        for i in 0..<goodTestCount {
            try write(folder.appendingPathComponent("test/good/\(String(format: "%03d", i)).png"), size: size, channels: channels,
                      pixels: pixels(size: size, channels: channels, seed: 100 + i))
        }
        for (t, type) in defectTypes.enumerated() {
            for i in 0..<defectCount {
                let defect = Defect(y: (size / 5) * (1 + (i + t) % 3), x: (size / 4) * (1 + i % 2), side: max(2, size / 6))
                let name = String(format: "%03d", i)
                try write(folder.appendingPathComponent("test/\(type)/\(name).png"), size: size, channels: channels,
                          pixels: pixels(size: size, channels: channels, seed: 200 + 10 * t + i, defect: defect))
                if masks {
                    try write(folder.appendingPathComponent("ground_truth/\(type)/\(name)_mask.png"), size: size, channels: 1,
                              pixels: mask(size: size, defect: defect))
                }
            }
        }
        return folder
    }

    /// Writes a Magnetic Tile Defect tree: `MT_Free/Imgs` and `MT_<Type>/Imgs`, each image
    /// with a same-named PNG mask. Images are PNG-encoded under `.jpg` names (the decoder
    /// reads files by their signature), which is all the layout reader looks at.
    public static func writeMTD(root: URL, size: Int, freeCount: Int, defects: [String: Int]) throws {
        for i in 0..<freeCount {
            let url = root.appendingPathComponent("MT_Free/Imgs/free_\(i).jpg")
            try write(url, size: size, channels: 1, pixels: pixels(size: size, channels: 1, seed: i))
            try write(url.deletingPathExtension().appendingPathExtension("png"), size: size, channels: 1,
                      pixels: [UInt8](repeating: 0, count: size * size))
        }
        for (type, count) in defects {
            for i in 0..<count {
                let defect = Defect(y: size / 3, x: size / 3, side: max(2, size / 5))
                let url = root.appendingPathComponent("MT_\(type)/Imgs/\(type.lowercased())_\(i).jpg")
                try write(url, size: size, channels: 1, pixels: pixels(size: size, channels: 1, seed: 500 + i, defect: defect))
                try write(url.deletingPathExtension().appendingPathExtension("png"), size: size, channels: 1,
                          pixels: mask(size: size, defect: defect))
            }
        }
    }

    /// Writes a square PNG of interleaved `pixels`.
    public static func write(_ url: URL, size: Int, channels: Int, pixels: [UInt8]) throws {
        try writeBytes(makePNG(width: size, height: size, channels: channels, pixels: pixels), to: url)
    }
}
