import Foundation
import MOCCANN

/// safetensors files: a length, a JSON header, then tensor data.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    if let contents = try? SafeTensors.decode(bytes) {
        // What decodes re-encodes.
        _ = try? SafeTensors.encode(contents)
    }
    return 0
}
