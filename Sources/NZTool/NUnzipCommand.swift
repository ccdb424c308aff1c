import ArgumentParser
import Checkpoint
import ToolSupport

/// `nunzip`: restore .nz files; also turn GGUF or safetensors into dense safetensors.
public struct NUnzipCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "nunzip",
        abstract: "Restore .nz files to the original checkpoint, or convert GGUF/safetensors to dense safetensors.",
        discussion: """
            FILE.nz is restored to FILE (byte for byte for lossless files). A GGUF or safetensors FILE, or any \
            FILE with --dtype, is written as dense safetensors in that dtype (block-quantised tensors dequantised). With no FILE or \
            '-', reads standard input and writes standard output. See nunzip(1) and nz(5).
            """)

    @OptionGroup var inspect: NZInspectOptions

    @Option(name: .long, help: ArgumentHelp("Decode only tensor NAME of a .nz file, as a one-tensor safetensors file.", valueName: "NAME"))
    var tensor: String?

    @Option(name: .long, help: ArgumentHelp("Write dense safetensors with floats in TYPE: f32, bf16 or f16 (default for GGUF/safetensors input: f32).", valueName: "TYPE"))
    var dtype: String?

    @OptionGroup var output: OutputOptions
    @OptionGroup var runOptions: RunOptions

    @Argument(help: "Files to restore or convert ('-' for standard input).")
    var files: [String] = []

    public init() {}

    public func validate() throws {
        try output.validate(inputCount: max(1, files.count))
        if let dtype, Self.denseType(dtype) == nil { throw ValidationError("--dtype must be f32, bf16 or f16") }
        if tensor != nil && output.output == nil && !output.toStdout { throw ValidationError("--tensor needs -o FILE or -c") }
    }

    static func denseType(_ name: String) -> TensorType? {
        ["f32": TensorType.f32, "bf16": .bf16, "f16": .f16][name.lowercased()]
    }

    public func run() throws {
        let inputs = files.isEmpty ? ["-"] : files
        for input in inputs where try !inspect.run(input, runOptions: runOptions) {
            let source = try InputSource.open(input)
            if let dtype {
                try NZFileActions.convertToDense(input, source: source, dtype: Self.denseType(dtype)!, output: output, run: runOptions)
            } else if try source.isNZ() {
                if let tensor {
                    try NZFileActions.extractTensor(tensor, from: input, source: source, output: output)
                } else {
                    try NZFileActions.restore(input, source: source, output: output, run: runOptions)
                }
            } else {
                if tensor != nil { throw ToolError("\(source.name): --tensor reads .nz files") }
                try NZFileActions.convertToDense(input, source: source, dtype: .f32, output: output, run: runOptions)
            }
        }
    }
}
