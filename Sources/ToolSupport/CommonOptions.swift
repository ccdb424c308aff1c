import ArgumentParser
import Kernels
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Output flags shared by the tools that write files (zstd's names and meanings).
public struct OutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("Write to FILE (one input only).", valueName: "FILE"))
    public var output: String?

    @Flag(name: [.customShort("c"), .customLong("stdout")], help: "Write to standard output.")
    public var toStdout = false

    @Flag(name: .shortAndLong, help: "Overwrite existing outputs; allow binary output to a terminal.")
    public var force = false

    @Flag(name: .customLong("rm"), help: "Remove each input after its output is complete and verified.")
    public var removeInput = false

    public init() {}

    public func validate(inputCount: Int) throws {
        if output != nil && inputCount > 1 { throw ValidationError("-o takes one input; \(inputCount) were given") }
        if output != nil && toStdout { throw ValidationError("-o and -c exclude each other") }
        if toStdout && inputCount > 1 { throw ValidationError("-c takes one input; \(inputCount) were given") }
    }
}

/// Threads and verbosity, shared by every tool.
public struct RunOptions: ParsableArguments {
    @Option(name: [.customShort("T", allowingJoined: true), .customLong("threads")], help: ArgumentHelp("Threads to use (0: all cores).", valueName: "N"))
    public var threads = 0

    @Flag(name: .shortAndLong, help: "Say more on standard error.")
    public var verbose = false

    @Flag(name: .shortAndLong, help: "Say nothing on standard error but errors.")
    public var quiet = false

    public init() {}

    /// The thread count, with 0 meaning all cores.
    public var resolvedThreads: Int { threads <= 0 ? Parallel.coreCount : threads }

    /// Whether to print per-file summaries: asked with -v, or by default when standard error is a terminal.
    public var showsSummaries: Bool { !quiet && (verbose || isatty(STDERR_FILENO) == 1) }

    /// Whether to draw a progress bar (only on a terminal).
    public var showsProgress: Bool { !quiet && isatty(STDERR_FILENO) == 1 }

    public func validate() throws {
        if threads < 0 { throw ValidationError("-T takes 0 (all cores) or a positive count") }
        if verbose && quiet { throw ValidationError("-v and -q exclude each other") }
    }
}

/// Rewrites zstd-style level flags (`-3`, `-19`) into `--level N` for swift-argument-parser.
public func rewriteLevelFlags(_ arguments: [String]) -> [String] {
    var out: [String] = []
    var passthrough = false
    for argument in arguments {
        if !passthrough, argument.count >= 2, argument.hasPrefix("-"), argument.dropFirst().allSatisfy(\.isNumber) {
            out += ["--level", String(argument.dropFirst())]
        } else {
            if argument == "--" { passthrough = true }
            out.append(argument)
        }
    }
    return out
}
