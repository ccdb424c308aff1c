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

    @Option(name: .long, help: ArgumentHelp("Windows run through the model together (each layer is expanded once per batch).", valueName: "N"))
    var batch = 4

    @Flag(name: .long, help: "Print one JSON object instead of text.")
    var json = false

    @OptionGroup var runOptions: RunOptions

    @Argument(help: "The model: GGUF (llama.cpp names) or safetensors (Hugging Face names, config.json and tokenizer.json beside it).")
    var model: String

    func validate() throws {
        if ctx < 4 { throw ValidationError("--ctx must be at least 4") }
        if let maxWindows, maxWindows < 1 { throw ValidationError("--max-windows must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
    }

    func run() throws {
        Gemm.setThreads(runOptions.resolvedThreads)
        let files = try ModelFiles.open(model)
        let tokenizer = files.tokenizer
        let engine = try files.model()
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
        for first in stride(from: 0, to: windows.count, by: batch) {
            let group = Array(windows[first..<min(windows.count, first + batch)])
            try engine.forward(group, logitsFrom: Perplexity.firstScored(count: ctx)) { n, logits in
                perplexity.add(window: group[n], logits: logits, vocab: engine.config.vocab)
                running.append("[\(first + n + 1)]" + Format.fixed(perplexity.value, 4))
            }
            if !json && !runOptions.quiet { ToolRunner.writeError(running.joined(separator: ",")) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let tokensPerSecond = Double(windows.count * ctx) / seconds
        if json {
            JSONOutput.printLine(.object([
                ("ppl", JSONOutput.number(perplexity.value)), ("uncertainty", JSONOutput.number(perplexity.uncertainty)),
                ("windows", JSONOutput.number(windows.count)), ("ctx", JSONOutput.number(ctx)),
                ("scored_tokens", JSONOutput.number(perplexity.scored)), ("tokens_per_second", JSONOutput.number(tokensPerSecond)),
                ("seconds", .object(timeParts(engine.profile, total: seconds).map { ($0.name, JSONOutput.number($0.seconds)) })),
                ("blas_core", .string(Gemm.coreName)),
            ]))
        } else {
            print("PPL = \(Format.fixed(perplexity.value, 4)) +/- \(Format.fixed(perplexity.uncertainty, 4))")
            print("\(windows.count) window\(windows.count == 1 ? "" : "s") of \(ctx) tokens, \(Format.fixed(tokensPerSecond, 1)) tokens/s")
            if runOptions.verbose {
                let parts = timeParts(engine.profile, total: seconds)
                ToolRunner.writeError("time: " + parts.map { "\($0.name) \(Format.fixed($0.seconds, 2)) s (\(Format.fixed(100 * $0.seconds / seconds, 1))%)" }
                    .joined(separator: ", ") + "; OpenBLAS kernels: \(Gemm.coreName)")
            }
        }
    }

    /// The profile's parts plus scoring (the log-softmax over the vocabulary) and the rest of the run.
    private func timeParts(_ profile: EngineProfile, total: Double) -> [(name: String, seconds: Double)] {
        [("matrix_products", profile.matrixProducts), ("attention", profile.attention), ("dequantization", profile.dequantization),
         ("norms_rope_activation", profile.other), ("scoring_and_rest", max(0, total - profile.total))]
    }
}
