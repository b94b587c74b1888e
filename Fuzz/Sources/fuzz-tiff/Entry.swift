// The program's entry: libFuzzer's driver on `LLVMFuzzerTestOneInput` (Fuzz.swift); see FuzzDriver.
import FuzzDriver

@_cdecl("fuzz_tiff_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 { runFuzzer(argc, argv, fuzz) }
