import Foundation
import MOCCA

/// A detector's manifest.json, checked as MOCCADetector.load(from:) checks it before
/// reading the weights, then its configuration's options and network.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    if let configuration = try? MOCCADetector.checkManifest(bytes, path: "fuzz") {
        _ = try? configuration.validate()
    }
    return 0
}
