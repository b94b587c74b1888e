// libFuzzer's driver, shared by every target's entry.
//
// SwiftPM links an executable target with `--defsym main=<module>_main`, so that tests
// can import it, and that name replaces libFuzzer's own `main`. Each target therefore
// defines `<module>_main` (its Entry.swift) as libFuzzer's `main` is: a call of
// `LLVMFuzzerRunDriver`, made here.

@_silgen_name("LLVMFuzzerRunDriver")
func llvmFuzzerRunDriver(_ argc: UnsafeMutablePointer<Int32>,
                         _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

/// Runs libFuzzer on `callback` with the program's arguments.
public func runFuzzer(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32 {
    var argc = argc, argv = argv
    return llvmFuzzerRunDriver(&argc, &argv, callback)
}
