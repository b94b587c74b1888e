// The program's entry: libFuzzer's driver, fuzzing `LLVMFuzzerTestOneInput` (Fuzz.swift).
//
// SwiftPM links an executable target with `--defsym main=<module>_main`, so that tests
// can import it, and that name replaces libFuzzer's own `main`. It is defined here, as
// libFuzzer's `main` is: a call of `LLVMFuzzerRunDriver`.

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<Int32>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

@_cdecl("fuzz_idx_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var argc = argc, argv = argv
    return runDriver(&argc, &argv, fuzz)
}
