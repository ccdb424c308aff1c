import ArgumentParser
import Checkpoint
import NeuZip
import ToolSupport

/// `nzip`: NeuZip compression of checkpoints into .nz files.
public struct NZipCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "nzip",
        abstract: "Compress checkpoints with NeuZip (lossless by default, or lossy with --mantissa-bits).",
        discussion: """
            Each FILE (safetensors or GGUF, detected from its first bytes) becomes FILE.nz beside it; the input \
            is kept unless --rm. With no FILE or '-', reads standard input and writes standard output. \
            Float tensors (BF16, F16, F32) have their exponents entropy-coded; other tensors use zstd \
            (-1 to -19, default -3) or lz4 (--fast). See nzip(1) and nz(5).
            """)

    @Flag(name: [.customShort("d"), .long], help: "Decompress (the same as nunzip).")
    var decompress = false

    @OptionGroup var inspect: NZInspectOptions

    @Option(name: .long, help: ArgumentHelp("Lossy: keep P mantissa bits of each float (BF16 0-7, F16 0-10, F32 0-23).", valueName: "P"))
    var mantissaBits: Int?

    @Option(name: .long, help: ArgumentHelp("zstd level for non-float data (also -1 ... -19).", valueName: "N"))
    var level: Int32 = 3

    @Flag(name: .long, help: "Use lz4 instead of zstd for non-float data.")
    var fast = false

    @Option(name: .customLong("chunk-kib"), help: ArgumentHelp("Chunk size in KiB (4 to 65536).", visibility: .hidden))
    var chunkKiB = 1024

    @OptionGroup var output: OutputOptions
    @OptionGroup var runOptions: RunOptions

    @Argument(help: "Files to compress ('-' for standard input).")
    var files: [String] = []

    public init() {}

    public func validate() throws {
        try output.validate(inputCount: max(1, files.count))
        if !(1...22).contains(level) { throw ValidationError("the zstd level must be 1 to 19 (20-22 with care)") }
        if let bits = mantissaBits, !(0...23).contains(bits) { throw ValidationError("--mantissa-bits must be 0 to 23") }
        if !(4...(64 << 10)).contains(chunkKiB) { throw ValidationError("--chunk-kib must be 4 to 65536") }
    }

    public func run() throws {
        let inputs = files.isEmpty ? ["-"] : files
        for input in inputs where try !inspect.run(input, runOptions: runOptions) {
            let options = NZOptions(keptMantissaBits: mantissaBits, byteCodec: fast ? .lz4 : .zstd(level: level),
                                    threads: runOptions.resolvedThreads, chunkBytes: chunkKiB << 10)
            try NZFileActions.compress(input, output: output, options: options, run: runOptions)
        }
    }

    /// The nzip executable: `-19`-style levels rewritten, `-d` handed to nunzip.
    public static func main(arguments: [String]) -> Never {
        let rewritten = rewriteLevelFlags(arguments)
        let beforeSeparator = rewritten.prefix { $0 != "--" }
        if beforeSeparator.contains("-d") || beforeSeparator.contains("--decompress") {
            ToolRunner.main(NUnzipCommand.self, arguments: rewritten.filter { $0 != "-d" && $0 != "--decompress" })
        }
        ToolRunner.main(NZipCommand.self, arguments: rewritten)
    }
}
