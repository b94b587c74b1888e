import MOCCATestSupport
import CTurboJPEG
import CZlib
import Foundation

// Image files made in memory for the decoder tests: PNGs written by hand from the
// specification (so libpng reads what the standard says, not what libpng's writer
// chose), JPEGs written by TurboJPEG.

/// A PNG colour type, with its samples per pixel.
enum PNGColorType: UInt8, CaseIterable {
    case grey = 0, rgb = 2, palette = 3, greyAlpha = 4, rgba = 6

    var samples: Int {
        switch self {
        case .grey, .palette: return 1
        case .greyAlpha: return 2
        case .rgb: return 3
        case .rgba: return 4
        }
    }
}

/// One PNG chunk: length, type, data, CRC.
func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let typeBytes = Array(type.utf8)
    let crc = (typeBytes + data).withUnsafeBufferPointer { UInt32(CZlib.crc32(0, $0.baseAddress, UInt32($0.count))) }
    return bigEndian(UInt32(data.count)) + typeBytes + data + bigEndian(crc)
}

/// A non-interlaced PNG of interleaved `samples` (8 or 16 bits each, as `bitDepth` says),
/// with `before` chunks (gAMA, PLTE, tRNS…) between IHDR and IDAT, compressed by zlib.
func makePNG(width: Int, height: Int, colorType: PNGColorType, bitDepth: Int, samples: [UInt16],
             before: [[UInt8]] = []) -> [UInt8] {
    precondition(samples.count == width * height * colorType.samples && (bitDepth == 8 || bitDepth == 16))
    var raw: [UInt8] = []
    raw.reserveCapacity(height * (1 + width * colorType.samples * bitDepth / 8))
    let rowSamples = width * colorType.samples
    for row in 0..<height {
        raw.append(0)  // filter type 0
        for sample in samples[(row * rowSamples)..<((row + 1) * rowSamples)] {
            if bitDepth == 16 { raw += [UInt8(sample >> 8), UInt8(sample & 0xFF)] } else { raw.append(UInt8(sample)) }
        }
    }
    return pngFile(width: width, height: height, colorType: colorType, bitDepth: bitDepth, scanlines: raw, before: before)
}

/// A PNG of ready-made `scanlines` (each row its filter byte, then its samples).
func pngFile(width: Int, height: Int, colorType: PNGColorType, bitDepth: Int, scanlines: [UInt8],
             before: [[UInt8]] = []) -> [UInt8] {
    var compressedSize = compressBound(uLong(scanlines.count))
    var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
    let status = compress2(&compressed, &compressedSize, scanlines, uLong(scanlines.count), 6)
    precondition(status == Z_OK)
    let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [UInt8(bitDepth), colorType.rawValue, 0, 0, 0]
    return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + pngChunk("IHDR", header) + before.joined()
        + pngChunk("IDAT", Array(compressed.prefix(Int(compressedSize)))) + pngChunk("IEND", [])
}

/// A `gAMA` chunk declaring `gamma` (1.0: linear samples).
func gammaChunk(_ gamma: Double) -> [UInt8] {
    pngChunk("gAMA", bigEndian(UInt32((gamma * 100_000).rounded())))
}

/// A JPEG of interleaved `pixels` in TurboJPEG's `format` (grey, RGB or CMYK), at
/// `quality` with 4:4:4 sampling (grey: none).
func makeJPEG(width: Int, height: Int, format: TJPF, pixels: [UInt8], quality: Int32 = 100) throws -> [UInt8] {
    guard let handle = tjInitCompress() else { throw JPEGTestError.turboJPEG("tjInitCompress failed") }
    defer { tjDestroy(handle) }
    var buffer: UnsafeMutablePointer<UInt8>?
    var size: UInt = 0
    let sampling = format == TJPF_GRAY ? TJSAMP_GRAY : TJSAMP_444
    let status = tjCompress2(handle, pixels, Int32(width), 0, Int32(height), Int32(format.rawValue), &buffer, &size,
                             Int32(sampling.rawValue), quality, 0)
    defer { tjFree(buffer) }
    guard status == 0, let buffer else { throw JPEGTestError.turboJPEG(String(cString: tjGetErrorStr2(handle))) }
    return Array(UnsafeBufferPointer(start: buffer, count: Int(size)))
}

/// The colour space TurboJPEG reads from a JPEG's header (`TJCS_*`).
func jpegColorspace(_ bytes: [UInt8]) throws -> Int32 {
    guard let handle = tjInitDecompress() else { throw JPEGTestError.turboJPEG("tjInitDecompress failed") }
    defer { tjDestroy(handle) }
    var width: Int32 = 0, height: Int32 = 0, sampling: Int32 = 0, colorspace: Int32 = -1
    guard tjDecompressHeader3(handle, bytes, UInt(bytes.count), &width, &height, &sampling, &colorspace) == 0 else {
        throw JPEGTestError.turboJPEG(String(cString: tjGetErrorStr2(handle)))
    }
    return colorspace
}

/// The offset of the first baseline start-of-frame marker (`FF C0`) in a JPEG.
func startOfFrame(_ jpeg: [UInt8]) -> Int? {
    (0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }
}

enum JPEGTestError: Error { case turboJPEG(String) }

/// libjpeg-turbo's own RGB to CMYK conversion (`cmyk.h`), in Adobe's inverted
/// convention: 255 is no ink.
func adobeCMYK(red: UInt8, green: UInt8, blue: UInt8) -> [UInt8] {
    let inks: [Double] = [red, green, blue].map { 1 - Double($0) / 255 }
    let k = inks.min() ?? 0
    let cmy: [Double] = k == 1 ? [0, 0, 0] : inks.map { ($0 - k) / (1 - k) }
    return (cmy + [k]).map { (ink: Double) -> UInt8 in UInt8(255 - ink * 255 + 0.5) }
}

/// Pillow's BT.601 luma of an RGB colour.
func luma(_ red: UInt8, _ green: UInt8, _ blue: UInt8) -> UInt8 {
    let r: UInt32 = UInt32(red) * 19595, g: UInt32 = UInt32(green) * 38470, b: UInt32 = UInt32(blue) * 7471
    return UInt8((r + g + b + 0x8000) >> 16)
}
