import FuzzTargets
import Glibc

// libFuzzer drives FuzzTargets.entropyDecoder. SwiftPM renames an executable's entry point, which libFuzzer's own
// main cannot replace, so this main hands control to libFuzzer's driver instead.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
let status = runFuzzerDriver(&argc, &argv) { data, size in
    FuzzTargets.entropyDecoder(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
exit(status)
