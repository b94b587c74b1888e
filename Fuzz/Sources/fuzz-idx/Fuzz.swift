import Foundation
import MOCCAData

/// IDX files (MNIST), gzipped or not, as image files (rank 3) and label files (rank 1).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    for rank in [3, 1] {
        if let array = try? IDXReader.decodeArray(bytes, rank: rank, path: "fuzz") {
            precondition(array.values.count == array.dimensions.reduce(1, *), "values disagree with the dimensions")
        }
    }
    return 0
}
