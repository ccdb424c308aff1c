import ArgumentParser
import Checkpoint
import Dispatch
import Kernels
import LM
import ToolSupport

/// `mstat ppl --text FILE MODEL`: perplexity with llama.cpp's convention.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppl",
        abstract: "Perplexity of a text under a model, measured the way llama.cpp's llama-perplexity measures it.")

    @Option(name: .long, help: ArgumentHelp("The text to score.", valueName: "FILE"))
    var text: String

    @Option(name: .long, help: ArgumentHelp("Window length in tokens; the second half of each window is scored.", valueName: "N"))
    var ctx = 512

    @Option(name: .long, help: ArgumentHelp("Score at most N windows.", valueName: "N"))
    var maxWindows: Int?

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var runOptions: RunOptions

    @Argument(help: "The model (a GGUF file with llama.cpp tensor names).")
    var model: String

    func validate() throws {
        if ctx < 4 { throw ValidationError("--ctx must be at least 4") }
        if let maxWindows, maxWindows < 1 { throw ValidationError("--max-windows must be at least 1") }
    }

    func run() throws {
        Gemm.setThreads(runOptions.resolvedThreads)
        let checkpoint = try Checkpoint.open(model)
        guard let header = checkpoint.ggufHeader else {
            throw CheckpointError(file: checkpoint.name, "the model engine reads GGUF checkpoints")
        }
        let tokenizer = try BPETokenizer(gguf: header, name: checkpoint.name)
        let engine = try LlamaModel(checkpoint)
        let source = try InputSource.open(text)
        let tokens = tokenizer.encode(try source.readText())
        var windows = Perplexity.windows(tokens, context: ctx, bos: tokenizer.addsBOS ? tokenizer.bosToken : nil)
        if let maxWindows { windows = Array(windows.prefix(maxWindows)) }
        guard !windows.isEmpty else {
            throw CheckpointError(file: source.name, "\(tokens.count) tokens: not one window of \(ctx)")
        }
        var perplexity = Perplexity()
        let start = DispatchTime.now().uptimeNanoseconds
        var running: [String] = []
        for (n, window) in windows.enumerated() {
            perplexity.add(window: window, logits: try engine.logits(window), vocab: engine.config.vocab)
            running.append("[\(n + 1)]" + Format.fixed(perplexity.value, 4))
            if !json && !runOptions.quiet { ToolRunner.writeError(running.joined(separator: ",")) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let tokensPerSecond = Double(windows.count * ctx) / seconds
        if json {
            JSONOutput.printLine(.object([
                ("ppl", JSONOutput.number(perplexity.value)), ("uncertainty", JSONOutput.number(perplexity.uncertainty)),
                ("windows", JSONOutput.number(windows.count)), ("ctx", JSONOutput.number(ctx)),
                ("scored_tokens", JSONOutput.number(perplexity.scored)), ("tokens_per_second", JSONOutput.number(tokensPerSecond)),
            ]))
        } else {
            print("PPL = \(Format.fixed(perplexity.value, 4)) +/- \(Format.fixed(perplexity.uncertainty, 4))")
            print("\(windows.count) window\(windows.count == 1 ? "" : "s") of \(ctx) tokens, \(Format.fixed(tokensPerSecond, 1)) tokens/s")
        }
    }
}
