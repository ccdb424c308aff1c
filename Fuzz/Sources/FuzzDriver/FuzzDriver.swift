#if canImport(Glibc)
import Glibc
#endif

@_silgen_name("LLVMFuzzerRunDriver")
private func runFuzzerDriver(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
                             _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

/// The target the C callback forwards to (a C function pointer cannot capture it).
nonisolated(unsafe) private var currentTarget: ((UnsafeRawBufferPointer) -> Void)?

/// Hands control to libFuzzer's driver with `target` as the function under test. SwiftPM renames an
/// executable's entry point, which libFuzzer's own `main` cannot replace, so each fuzzer's main calls this.
public func runLibFuzzer(_ target: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
    currentTarget = target
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    let status = runFuzzerDriver(&argc, &argv) { data, size in
        currentTarget?(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }
    exit(status)
}
