import Foundation
import MOCCA
import MOCCAData
import Testing

@Suite("Heat maps: resize, smooth, overlay")
struct HeatMapTests {
    /// PyTorch: `F.interpolate(torch.tensor([[[[0., 1], [2, 3]]]]), size=(4, 4),
    /// mode="bilinear", align_corners=False)`.
    @Test func bilinearResizeMatchesPyTorchWithoutAlignedCorners() throws {
        let out = try HeatMap.resize([0, 1, 2, 3], width: 2, height: 2, toWidth: 4, toHeight: 4)
        #expect(out == [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3])
    }

    @Test func resizingAConstantGivesTheConstantAndTheSameSizeTheMap() throws {
        let constant = [Float](repeating: 0.375, count: 5 * 3)
        for (w, h) in [(17, 9), (2, 2), (1, 7), (5, 3)] {
            #expect(try HeatMap.resize(constant, width: 5, height: 3, toWidth: w, toHeight: h) == [Float](repeating: 0.375, count: w * h))
        }
        let map = (0..<15).map { Float($0 * $0) }
        #expect(try HeatMap.resize(map, width: 5, height: 3, toWidth: 5, toHeight: 3) == map)
    }

    @Test func aDeltaSmoothsToANormalisedGaussian() throws {
        let size = 31, centre = 15, sigma = 2.0
        var delta = [Float](repeating: 0, count: size * size)
        delta[centre * size + centre] = 1
        let out = try HeatMap.smooth(delta, width: size, height: size, sigma: sigma)
        let norm = (-8...8).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }.reduce(0, +)
        func g(_ d: Int) -> Double { exp(-0.5 * Double(d * d) / (sigma * sigma)) / norm }
        for dy in -3...3 {
            for dx in -3...3 {
                #expect(abs(Double(out[(centre + dy) * size + centre + dx]) - g(dx) * g(dy)) < 1e-7)
            }
        }
        #expect(abs(out.reduce(0, +) - 1) < 1e-5)
        // Symmetric, and nothing beyond the kernel's reach of 4 σ = 8 pixels.
        #expect(out[(centre - 5) * size + centre + 2] == out[(centre + 5) * size + centre - 2])
        #expect(out[centre * size + centre + 9] == 0)
    }

    @Test func smoothingKeepsTheSumAwayFromTheBorders() throws {
        let size = 40
        var map = [Float](repeating: 0, count: size * size)
        for y in 12..<28 { for x in 12..<28 { map[y * size + x] = Float((x * 31 + y * 17) % 11) } }
        let out = try HeatMap.smooth(map, width: size, height: size, sigma: 1.5)
        let before = map.reduce(0, +), after = out.reduce(0, +)
        #expect(abs(after - before) < 1e-3 * before)
        #expect(try HeatMap.smooth(map, width: size, height: size, sigma: 0) == map)
    }

    /// scipy's `mode="reflect"` repeats the edge pixel: a constant stays constant at the
    /// border, and on a map smaller than the kernel.
    @Test func reflectionKeepsAConstantAtTheBordersOfTinyMaps() throws {
        let out = try HeatMap.smooth([Float](repeating: 2, count: 6), width: 3, height: 2, sigma: 3)
        #expect(out.allSatisfy { abs($0 - 2) < 1e-6 })
    }

    @Test func overlayBlendsTheColourMapAndDrawsTheMaskOutline() throws {
        let width = 5, height = 5
        let grey = ImageDecoder.Image(width: width, height: height, channels: 1, pixels: [UInt8](repeating: 100, count: 25))
        let map = (0..<25).map { Float($0) }
        // Opacity 0: the grey image as RGB. Opacity 1: the colour alone at the top of the
        // range (24), and 0.3 of it over the image at the bottom (0).
        let plain = try HeatMap.overlay(map, range: 0...24, on: grey, opacity: 0)
        #expect(plain.channels == 3 && plain.pixels.allSatisfy { $0 == 100 })
        let heat = try HeatMap.overlay(map, range: 0...24, on: grey, opacity: 1)
        #expect([heat.pixels[24], heat.pixels[49], heat.pixels[74]] == [252, 255, 164])
        #expect([heat.pixels[0], heat.pixels[25], heat.pixels[50]] == [70, 70, 71])
        // Half at the top: the mean of the image and the colour.
        let half = try HeatMap.overlay(map, range: 0...24, on: grey, opacity: 0.5)
        #expect(half.pixels[24] == 176 && half.pixels[74] == 132)

        // A 3×3 mask in the middle: outlined just outside, corners left out.
        var mask = [UInt8](repeating: 0, count: 25)
        for y in 1...3 { for x in 1...3 { mask[y * width + x] = 1 } }
        let outlined = try HeatMap.overlay(map, range: 0...24, on: grey, mask: mask, opacity: 0)
        let green = (0..<25).filter { outlined.pixels[$0] == 0 && outlined.pixels[25 + $0] == 255 && outlined.pixels[50 + $0] == 0 }
        #expect(green == [1, 2, 3, 5, 9, 10, 14, 15, 19, 21, 22, 23])
    }

    @Test func colourMapRunsFromBlackToPaleYellowAndClamps() {
        #expect(HeatMap.colour(0) == (0, 0, 4))
        #expect(HeatMap.colour(-3) == (0, 0, 4))
        #expect(HeatMap.colour(1) == (252, 255, 164))
        #expect(HeatMap.colour(.nan) == (0, 0, 4))
        // Brightness rises along the map.
        let luma = stride(from: Float(0), through: 1, by: 0.05).map { t -> Int in
            let c = HeatMap.colour(t)
            return 299 * Int(c.red) + 587 * Int(c.green) + 114 * Int(c.blue)
        }
        #expect(luma == luma.sorted())
    }

    @Test func refusesMismatchedSizes() {
        let image = ImageDecoder.Image(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 0, count: 12))
        #expect(throws: MOCCAError.self) { try HeatMap.overlay([0, 0, 0], range: 0...1, on: image) }
        #expect(throws: MOCCAError.self) { try HeatMap.overlay([0, 0, 0, 0], range: 0...1, on: image, mask: [1]) }
        #expect(throws: MOCCAError.self) { try HeatMap.resize([0, 0], width: 2, height: 2, toWidth: 3, toHeight: 3) }
        #expect(throws: MOCCAError.self) { try HeatMap.smooth([0, 0, 0, 0], width: 2, height: 2, sigma: -1) }
    }
}
