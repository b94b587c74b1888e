import CPNG

extension ImageDecoder {
    /// Decodes a PNG with libpng's simplified API, to 8-bit samples as stored.
    ///
    /// The simplified API converts between gamma encodings: it takes a 16-bit file without
    /// a `gAMA` chunk as linear light and re-encodes it to sRGB when asked for 8 bits, and
    /// honours any `gAMA` chunk it finds. Neither is wanted here (see ``ImageDecoder``),
    /// so the `gAMA` chunk is removed first and 16-bit samples are declared sRGB
    /// (`PNG_IMAGE_FLAG_16BIT_sRGB`): input and output encodings then agree, libpng does
    /// no gamma conversion and scales 16-bit samples by `png_set_scale_16`, which rounds
    /// `v · 255 / 65535` to nearest. Alpha is read, not composited (the simplified API
    /// composites in linear light), and dropped by ``planar(_:width:height:layout:channels:)``,
    /// which also does the colour-to-grey conversion, so 8-bit and 16-bit files and
    /// PNGs and JPEGs all take the same path.
    static func decodePNG(_ file: [UInt8], path: String, channels: Int, maximumPixels: Int) throws -> Image {
        try checkChunkLengths(file, path: path)
        let bytes = withoutGammaChunk(file)
        // libpng keeps the pointer it is given and reads the file in both calls, so the
        // pointer must stay valid from the first to the last: an array passed straight to
        // each call gives a pointer valid during that call only, and one that
        // withoutGammaChunk made was freed between the two (a use after free in release
        // builds, found by fuzzing).
        let (samples, width, height, layout) = try bytes.withUnsafeBufferPointer { file -> ([UInt8], Int, Int, Layout) in
            var image = png_image()
            image.version = UInt32(PNG_IMAGE_VERSION)
            defer { png_image_free(&image) }
            guard png_image_begin_read_from_memory(&image, file.baseAddress, file.count) != 0 else {
                throw DataError.malformed(path: path, message: "corrupt PNG: \(message(of: image))")
            }
            try checkSize(width: Int(image.width), height: Int(image.height), path: path, maximumPixels: maximumPixels)
            // The file's colour and alpha, at 8 bits per sample and without a palette.
            let colour = image.format & UInt32(PNG_FORMAT_FLAG_COLOR) != 0
            let alpha = image.format & UInt32(PNG_FORMAT_FLAG_ALPHA) != 0
            let layout: Layout = colour ? (alpha ? .rgba : .rgb) : (alpha ? .greyAlpha : .grey)
            image.format = (colour ? UInt32(PNG_FORMAT_FLAG_COLOR) : 0) | (alpha ? UInt32(PNG_FORMAT_FLAG_ALPHA) : 0)
            image.flags |= UInt32(PNG_IMAGE_FLAG_16BIT_sRGB)
            let width = Int(image.width), height = Int(image.height)
            var samples = [UInt8](repeating: 0, count: width * height * layout.count)
            guard png_image_finish_read(&image, nil, &samples, 0, nil) != 0 else {
                throw DataError.malformed(path: path, message: "corrupt or truncated PNG data: \(message(of: image))")
            }
            return (samples, width, height, layout)
        }
        return planar(samples, width: width, height: height, layout: layout, channels: channels)
    }

    /// `bytes` without their `gAMA` chunk, if there is one.
    ///
    /// The PNG specification puts `gAMA` before the first `IDAT`, so only the chunks up
    /// to there are walked; a malformed chunk list is left for libpng to report.
    static func withoutGammaChunk(_ bytes: [UInt8]) -> [UInt8] {
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = Array(bytes[(offset + 4)..<(offset + 8)])
            let end = offset + 12 + length
            guard end <= bytes.count, type != Array("IDAT".utf8) else { return bytes }
            if type == Array("gAMA".utf8) { return Array(bytes[..<offset]) + bytes[end...] }
            offset = end
        }
        return bytes
    }

    /// Throws unless every chunk up to `IEND` fits in the file.
    ///
    /// libpng allocates a buffer of the length a chunk declares before it reads the
    /// chunk (a text chunk, say), up to 2 GiB, so an 89-byte file declaring a 285 MB
    /// `tEXt` chunk made it allocate 285 MB (found by fuzzing). A chunk running past the
    /// end of the file can only be truncated or corrupt, and libpng would refuse the file
    /// once it found the data missing; refusing it first keeps its buffers within the
    /// file's size. A chunk list ending before `IEND` is left for libpng to report.
    static func checkChunkLengths(_ bytes: [UInt8], path: String) throws {
        var offset = 8
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let type = bytes[(offset + 4)..<(offset + 8)]
            let remaining = bytes.count - offset - 12
            guard length <= remaining else {
                let name = type.allSatisfy { (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }
                    ? "'\(String(decoding: type, as: UTF8.self))'" : "of type \(type.map { String($0) }.joined(separator: " "))"
                throw DataError.malformed(path: path, message: "truncated or corrupt PNG: the chunk \(name) at byte \(offset) declares \(length) bytes of data, and only \(max(remaining, 0)) follow it")
            }
            if type.elementsEqual("IEND".utf8) { return }
            offset += 12 + length
        }
    }

    /// libpng's message for the last failure.
    private static func message(of image: png_image) -> String {
        withUnsafeBytes(of: image.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
