import COpenBLAS
#if canImport(Glibc)
import Glibc
#endif

/// Picks OpenBLAS's kernels when its own CPU detection fails.
///
/// Debian's OpenBLAS (0.3.21, built for every x86-64 core) does not recognise some current and
/// virtualised Xeons and falls back to its Prescott (SSE3) kernels, which run sgemm at a third of
/// the speed of its AVX-512 ones on the same CPU (measured here: SmolLM2 perplexity 153 tokens/s
/// against 386 tokens/s). When the user has not chosen a core (`OPENBLAS_CORETYPE`) and OpenBLAS fell
/// back to Prescott, the core is chosen from the CPU's feature flags and OpenBLAS's dispatch is
/// initialised again, through its exported `gotoblas_dynamic_quit`/`gotoblas_dynamic_init`, looked up
/// at run time so that a build without them keeps its own choice.
enum BLASCoreSelection {
    /// Done once, before the first product.
    static let applied: String = select()

    private static func select() -> String {
        let current = String(cString: openblas_get_corename())
        guard getenv("OPENBLAS_CORETYPE") == nil, current.lowercased() == "prescott",
              let wanted = bestCore(flags: cpuFlags()),
              let quit = exported("gotoblas_dynamic_quit"),
              let initialise = exported("gotoblas_dynamic_init") else { return current }
        typealias Entry = @convention(c) () -> Void
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        unsafeBitCast(quit, to: Entry.self)()
        unsafeBitCast(initialise, to: Entry.self)()
        unsetenv("OPENBLAS_CORETYPE")
        return String(cString: openblas_get_corename())
    }

    /// A function the loaded OpenBLAS exports beyond its header, or nil when this build lacks it.
    static func exported(_ name: String) -> UnsafeMutableRawPointer? {
        dlopen(nil, RTLD_NOW).flatMap { dlsym($0, name) }
    }

    /// The fastest OpenBLAS core that the CPU's flags (from /proc/cpuinfo) allow, or nil.
    static func bestCore(flags: Set<Substring>) -> String? {
        if ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        if flags.contains("avx") { return "SandyBridge" }
        return nil
    }

    private static func cpuFlags() -> Set<Substring> {
        guard let file = fopen("/proc/cpuinfo", "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            if text.hasPrefix("flags") {
                return Set(text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == ":" }))
            }
        }
        return []
    }
}
