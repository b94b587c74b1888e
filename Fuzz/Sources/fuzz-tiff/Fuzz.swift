import MOCCAData

/// TIFF files through ImageDecoder (libtiff read from memory, by signature): to RGB as
/// stored, and to grey resized to 7×5, so that the memory callbacks, the conversions and
/// the resizer see every layout and size a header can declare.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    if let image = try? ImageDecoder.decode(bytes: bytes, path: "fuzz", channels: 3) {
        precondition(image.pixels.count == 3 * image.width * image.height, "pixels disagree with the size")
        let small = try? ImageDecoder.decode(bytes: bytes, path: "fuzz", channels: 1, size: (height: 7, width: 5))
        precondition(small?.pixels.count == 35, "the resized image is not 7×5")
    }
    return 0
}
