import Foundation
import MOCCAData

/// CIFAR-10 binary batches: records of a label byte and 3,072 pixel bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Data(bytes: data, count: size)
    if let batch = try? CIFAR10.decodeBatch(bytes, path: "data_batch_1.bin") {
        precondition(batch.pixels.count == batch.count * 3072, "pixels disagree with the records")
    }
    _ = try? CIFAR10.decodeBatch(bytes, path: "data_batch_1.bin", keep: { $0 % 2 == 0 })
    return 0
}

