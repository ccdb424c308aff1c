import ArgumentParser
import Checkpoint
import Dispatch
import Kernels
import LM
import Quantization
import ToolSupport

/// `invarq`: quantizes a LLaMA-family model to a GGUF block type or GPTQ groups, optionally searching
/// function-preserving FFN transforms (InvarExplore) that lower the quantization error.
struct InvarQ: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "invarq",
        abstract: "Quantize a model to 2-8 bits (GGUF for llama.cpp, or GPTQ safetensors), with InvarExplore's search over FFN invariances.")

    @Option(name: .long, help: ArgumentHelp("q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q6_k, iq4_nl, or wNgG (N bits 2, 3, 4 or 8; groups of G = 32, 64 or 128 inputs).", valueName: "TYPE"))
    var type: String

    @Option(name: .long, help: ArgumentHelp("Base quantizer: rtn or gptq (default: gptq with --calib, rtn without).", valueName: "NAME"))
    var base: String?

    @Option(name: .long, help: ArgumentHelp("Search budget: proposals to try.", valueName: "N"))
    var search: Int?

    @Option(name: .long, help: ArgumentHelp("Search budget: seconds to spend.", valueName: "S"))
    var time: Double?

    @Option(name: .long, help: ArgumentHelp("Calibration text (needed by GPTQ and by the search).", valueName: "FILE"))
    var calib: String?

    @Option(name: .long, help: ArgumentHelp("Calibration windows.", valueName: "N"))
    var calibWindows = 16

    @Option(name: .long, help: ArgumentHelp("Calibration window length in tokens.", valueName: "N"))
    var ctx = 256

    @Option(name: .long, help: ArgumentHelp("Calibration windows per forward pass (memory grows with it).", valueName: "N"))
    var batch = 2

    @Option(name: .long, help: ArgumentHelp("Output: gguf, gptq or safetensors (dequantized F32); default gguf for block types, gptq for wNgG.", valueName: "FORMAT"))
    var format: String?

    @Option(name: .long, help: ArgumentHelp("GPTQ damping, a fraction of the Hessian's mean diagonal.", valueName: "X"))
    var damping = 0.01

    @Flag(name: .long, help: "GPTQ: quantize columns in decreasing order of activation energy (block parameters fitted up front).")
    var actOrder = false

    @Option(name: .long, help: ArgumentHelp("Search seed (with --search, the result is the same for the same seed).", valueName: "N"))
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Weight of the block-output error in L = CE/CE0 + alpha MSE/MSE0.", valueName: "X"))
    var alpha = 0.1

    @Option(name: .long, help: ArgumentHelp("Fraction of a block's hidden units one proposal moves.", valueName: "X"))
    var swapFraction = SearchSettings().swapFraction

    @Option(name: .long, help: ArgumentHelp("Standard deviation of a proposal's log-scale changes (0: no scaling).", valueName: "X"))
    var scaleStd: Float = 0.01

    @Option(name: .long, help: ArgumentHelp("Standard deviation of a proposal's rotation angles (0: no rotation, the default).", valueName: "X"))
    var rotationStd: Float = 0

    @Option(name: .long, help: ArgumentHelp("Proposals between full cross-entropy checks.", valueName: "N"))
    var checkEvery = 25

    @Option(name: .long, help: ArgumentHelp("Write the search's accepted moves and checks as JSON lines to FILE.", valueName: "FILE"))
    var log: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The output file ('-': standard output).", valueName: "OUT"))
    var output: String

    @Flag(name: .shortAndLong, help: "Overwrite an existing output; allow binary output to a terminal.")
    var force = false

    @OptionGroup var runOptions: RunOptions

    @Argument(help: "The model: GGUF, safetensors (Hugging Face names) or .nz.")
    var input: String

    private var target: QuantizationTarget { QuantizationTarget(type)! }
    private var searches: Bool { search != nil || time != nil }
    private var baseQuantizer: BaseQuantizer { base.flatMap(BaseQuantizer.init(rawValue:)) ?? (calib == nil ? .rtn : .gptq) }
    private var outputFormat: QuantizedOutputFormat {
        if let format, let chosen = QuantizedOutputFormat(rawValue: format) { return chosen }
        if case .groups = target { return .gptq }
        return .gguf
    }

    func validate() throws {
        guard let target = QuantizationTarget(type) else { throw ValidationError("--type \(type): not a known type (q4_0 ... q6_k, iq4_nl, wNgG)") }
        if let base, BaseQuantizer(rawValue: base) == nil { throw ValidationError("--base must be rtn or gptq") }
        if let format, QuantizedOutputFormat(rawValue: format) == nil { throw ValidationError("--format must be gguf, gptq or safetensors") }
        switch (target, outputFormat) {
        case (.groups, .gguf): throw ValidationError("--format gguf needs a GGUF block type; \(type) is written as gptq or safetensors")
        case (.gguf, .gptq): throw ValidationError("--format gptq needs a wNgG type")
        default: break
        }
        if (baseQuantizer == .gptq || searches) && calib == nil { throw ValidationError("GPTQ and the search need --calib FILE") }
        if let search, search < 1 { throw ValidationError("--search must be at least 1") }
        if let time, !(time > 0) { throw ValidationError("--time must be positive") }
        if calibWindows < 1 || ctx < 2 || batch < 1 || checkEvery < 1 {
            throw ValidationError("--calib-windows, --ctx, --batch and --check-every must be positive (--ctx at least 2)")
        }
        if !(damping > 0) { throw ValidationError("--damping must be positive") }
        if !(swapFraction > 0 && swapFraction <= 1) { throw ValidationError("--swap-fraction must be in (0, 1]") }
        if scaleStd < 0 || rotationStd < 0 { throw ValidationError("--scale-std and --rotation-std cannot be negative") }
    }

    func run() throws {
        let start = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
        Gemm.setThreads(runOptions.resolvedThreads)
        if output != "-" { try InputProtection.check(output: output, against: input) }
        let files = try ModelFiles.open(input)
        // Opened before the long work, so that a bad path fails at once (ToolRunner removes the
        // unfinished output on any later error or signal).
        let lineLog = try log.map { try LineLog(path: $0, append: false) }
        let destination = output == "-" ? try OutputTarget.standardOutput(force: force) : try OutputTarget.file(output, force: force)
        let say = { (line: String) in if runOptions.showsSummaries { ToolRunner.writeError(line) } }
        let tensors = try TrainableModel.tensors(of: files.checkpoint, config: files.config)
        var calibration: CalibrationSet?
        var statistics: [BlockStatistics]?
        var reference: TrainableModel?
        // Calibration statistics only where they are used: GPTQ's Hessians, the search.
        if let calib, baseQuantizer == .gptq || searches {
            let source = try InputSource.open(calib)
            let set = try CalibrationSet(tokens: files.tokenizer.encode(try source.readText()), windows: calibWindows, length: ctx, file: source.name)
            let model = try TrainableModel(config: files.config, tensors: tensors.map { $0 })
            statistics = BlockStatistics.collect(model, calibration: set, batchSize: batch)
            say("invarq: calibration: \(set.inputs.count) windows of \(ctx) tokens, \(Format.fixed(elapsed(), 1)) s")
            (calibration, reference) = (set, model)
        }
        let progress = Progress(label: "quantizing", total: tensors.count, enabled: runOptions.showsProgress, format: { "\($0)" })
        let quantizer = ModelQuantizer(config: files.config, tensors: tensors, target: target, base: baseQuantizer,
                                       gptq: GPTQ(damping: damping, actOrder: actOrder), statistics: statistics) { done, _ in progress.update(done) }
        progress.finish()
        let baseSeconds = elapsed()
        say("invarq: \(baseQuantizer.rawValue) to \(target): \(Format.fixed(baseSeconds, 1)) s")
        if runOptions.verbose {
            for (index, tensor) in tensors.enumerated() {
                ToolRunner.writeError("  \(tensor.name) \(tensor.shape): \(quantizer.format(of: index)?.name ?? quantizer.keptType(of: index).description)")
            }
        } else {
            say("invarq: tensor types: " + typeCounts(quantizer))
        }
        if searches, let calibration, let statistics, let reference {
            try runSearch(quantizer, statistics: statistics, calibration: calibration, model: reference, log: lineLog, say: say)
        }
        try write(quantizer, files: files, to: destination)
        say("invarq: wrote \(output == "-" ? "<stdout>" : output) (\(outputFormat.rawValue)) in \(Format.fixed(elapsed(), 1)) s, peak RSS \(peakResidentBytes >> 20) MB")
    }

    private func typeCounts(_ quantizer: ModelQuantizer) -> String {
        var counts: [String: Int] = [:]
        for index in quantizer.original.indices { counts[quantizer.format(of: index)?.name ?? quantizer.keptType(of: index).description.lowercased(), default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }

    private func runSearch(_ quantizer: ModelQuantizer, statistics: [BlockStatistics], calibration: CalibrationSet,
                           model evaluation: TrainableModel, log lineLog: LineLog?, say: (String) -> Void) throws {
        // The calibration model's weights become the quantized model's: the search scores against the
        // full-precision statistics, not against this model.
        for (index, tensor) in quantizer.evaluationTensors().enumerated() {
            evaluation.weights.modify(index) { buffer in tensor.values.withUnsafeBufferPointer { buffer.baseAddress!.update(from: $0.baseAddress!, count: $0.count) } }
        }
        var settings = SearchSettings()
        (settings.steps, settings.seconds, settings.seed, settings.alpha) = (search, time, seed, alpha)
        (settings.swapFraction, settings.scaleStd, settings.rotationStd, settings.checkEvery) = (swapFraction, scaleStd, rotationStd, checkEvery)
        let searchStart = DispatchTime.now().uptimeNanoseconds
        let engine = InvarianceSearch(quantizer: quantizer, statistics: statistics, calibration: calibration, model: evaluation,
                                      settings: settings, batchSize: batch)
        let progress = Progress(label: "searching", total: search, enabled: runOptions.showsProgress, format: { "\($0)" })
        var failure: Error?
        let report = engine.run(log: { line in
            do { try lineLog?.write(line) } catch { failure = failure ?? error }
        }, progress: { step, _ in progress.update(step) })
        progress.finish()
        if let failure { throw failure }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - searchStart) / 1e9
        say("invarq: search: \(report.steps) proposals in \(Format.fixed(seconds, 1)) s, \(report.accepted - report.reverted) moves kept "
            + "(\(report.reverted) undone by \(report.checks) checks); calibration CE \(Format.fixed(report.crossEntropy0, 4)) -> "
            + "\(Format.fixed(report.crossEntropy, 4)), block error \(String(format: "%.4g", report.blockError0)) -> \(String(format: "%.4g", report.blockError))")
    }

    private func write(_ quantizer: ModelQuantizer, files: ModelFiles, to target: OutputTarget) throws {
        do {
            switch outputFormat {
            case .gguf:
                // A GGUF source's metadata is kept as it is; other sources get llama.cpp's keys made from
                // their config and tokenizer.
                let metadata = files.checkpoint.ggufHeader?.metadata
                    ?? GGUFModelMetadata.make(config: files.config, tokenizer: files.tokenizer, name: String(input.split(separator: "/").last ?? "model"))
                try QuantizedModelWriter.writeGGUF(quantizer, sourceMetadata: metadata, to: target.sink, name: target.name)
            case .gptq: try QuantizedModelWriter.writeGPTQ(quantizer, tokenizer: files.tokenizer, to: target.sink, name: target.name)
            case .safetensors: try QuantizedModelWriter.writeDequantized(quantizer, tokenizer: files.tokenizer, to: target.sink, name: target.name)
            }
            try target.commit()
        } catch {
            target.discard()
            throw error
        }
    }
}
