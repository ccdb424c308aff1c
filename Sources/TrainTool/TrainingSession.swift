import ArgumentParser
import Checkpoint
import Dispatch
import Kernels
import LM
import Optimizers
import ToolSupport
import Training
#if canImport(Glibc)
import Glibc
#endif

/// The run that floratrain and gingeropt share: model and tokenizer from the flags (or a training state
/// to resume), the corpus, the loop with logs, periodic states, SIGINT handling, and the output.
public struct TrainingSession {
    public let tool: String
    public let model: ModelOptions
    public let data: DataOptions
    public let output: TrainingOutputOptions
    public let run: RunOptions

    public init(tool: String, model: ModelOptions, data: DataOptions, output: TrainingOutputOptions, run: RunOptions) {
        self.tool = tool
        self.model = model
        self.data = data
        self.output = output
        self.run = run
    }

    /// Trains with the optimizer `optimizerName` made by `makeOptimizer` from the tensor shapes;
    /// `accumulator` makes the gradient accumulator when --accum > 1. `settings` describes the run (the
    /// optimizer's settings); a resumed run must have been started with the same.
    public func train(optimizerName: String, settings: [(String, String)],
                      makeOptimizer: ([[Int]]) throws -> Optimizer,
                      makeAccumulator: ([[Int]]) -> GradientAccumulator) throws {
        if output.resume != nil && (model.initial != nil || model.config != nil) {
            throw ValidationError("--resume continues the model in the state file: it excludes --init and --config")
        }
        Gemm.setThreads(run.resolvedThreads)
        // The model and its tokenizer.
        let config: LlamaConfig, tensors: [FloatTensor], tokenizer: Tokenizer
        var resumed: TrainingCheckpoint.Resumed?
        if let source = output.resume ?? model.initial {
            let files = try ModelFiles.open(source)
            config = files.config
            tokenizer = files.tokenizer
            tensors = try TrainableModel.tensors(of: files.checkpoint, config: config)
            if output.resume != nil { resumed = try TrainingCheckpoint.read(files.checkpoint) }
        } else {
            config = try model.newConfig()
            tokenizer = ByteTokenizer()
            tensors = TrainableModel.initialTensors(config, tied: model.tied, seed: data.seed)
        }
        let trainable = try TrainableModel(config: config, tensors: tensors, compressWeights: model.compressWeights)
        let shapes = trainable.weights.shapes
        // The run's identity: what must not change across a resume.
        var identity: [(String, String)] = [("optimizer", optimizerName), ("batch", "\(data.batch)"), ("ctx", "\(data.ctx)"),
                                            ("accum", "\(data.accum)"), ("lr", "\(data.lr)"), ("warmup", "\(data.warmup)"),
                                            ("schedule", data.schedule.rawValue), ("seed", "\(data.seed)")]
        if data.schedule == .cosine { identity.append(("steps", "\(data.steps)")) }
        identity += settings
        let runText = JSONWriter.string(.object(identity.map { ($0.0, .string($0.1)) }))
        // Optimizer and accumulator, restored when resuming.
        let optimizer = try makeOptimizer(shapes)
        let accumulator = data.accum > 1 ? makeAccumulator(shapes) : nil
        if let resumed, let resume = output.resume {
            guard resumed.run == runText else {
                throw CheckpointError(file: resume, "was trained with other settings: \(resumed.run); now: \(runText)")
            }
            do {
                try optimizer.restoreState(resumed.optimizerState)
                try accumulator?.restoreSeeds(resumed.optimizerState.values)
            } catch let error as OptimizerStateError {
                throw CheckpointError(file: resume, error.description)
            }
        }
        let corpus = try TextCorpus(files: data.data, tokenizer: tokenizer)
        guard corpus.training.count > data.ctx + 1 else {
            throw CheckpointError(file: data.data.joined(separator: ", "), "\(corpus.training.count) training tokens: fewer than one window of --ctx \(data.ctx)")
        }
        // Outputs are opened before the work, so that a refusal comes at once.
        let target = output.output == "-" ? try OutputTarget.standardOutput(force: output.force) : try OutputTarget.file(output.output, force: output.force)
        if let statePath = output.statePath, output.saveEvery != nil, statePath != output.resume, !output.force, access(statePath, F_OK) == 0 {
            throw CheckpointError(file: statePath, "already exists (use -f to overwrite it)")
        }
        let log = try output.log.map { try LineLog(path: $0, append: resumed != nil) }
        let tsv = try output.tsv.map { try LineLog(path: $0, append: resumed != nil) }
        if resumed == nil { try tsv?.write(StepMetrics.tsvHeader) }

        let schedule = LearningRateSchedule(peak: data.lr, warmup: data.warmup, total: data.steps, shape: data.schedule)
        let source = TextBatches(corpus: corpus, sequences: data.batch, length: data.ctx, seed: data.seed)
        let trainer = Trainer(network: trainable, optimizer: optimizer, accumulator: accumulator, source: source, accumulation: data.accum,
                              schedule: schedule, seed: data.seed, completedSteps: resumed?.step ?? 0)
        func saveState() throws {
            guard let statePath = output.statePath else { return }
            let file = try AtomicFile(path: statePath, overwrite: true)
            try TrainingCheckpoint.write(trainable, tokenizer: tokenizer, run: runText, step: trainer.step,
                                         optimizer: (optimizerName, optimizer, accumulator), to: file, name: statePath)
            try file.commit()
        }
        if run.verbose {
            ToolRunner.writeError("\(tool): \(config.layers) layers, dim \(config.dim), \(config.heads) heads, vocab \(config.vocab), "
                                  + "\(tensors.reduce(0) { $0 + $1.values.count }) parameters; \(corpus.training.count) training and "
                                  + "\(corpus.validation.count) validation tokens; optimizer \(optimizerName), state \(Format.bytes(optimizer.stateBytes))")
        }
        let progress = Progress(label: tool, total: data.steps, enabled: run.showsProgress) { "step \($0)" }
        ToolRunner.deferInterruptions()
        let started = DispatchTime.now().uptimeNanoseconds
        while trainer.step < data.steps {
            let stepStart = DispatchTime.now().uptimeNanoseconds
            let rate = schedule.rate(at: trainer.step)
            let loss = trainer.trainStep()
            let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
            let step = trainer.step
            let evaluate = step == data.steps || (data.evalEvery > 0 && step % data.evalEvery == 0)
            let metrics = StepMetrics(step: step, loss: loss, validationLoss: evaluate ? trainer.validationLoss() : nil, learningRate: rate,
                                      tokensPerSecond: Double(data.batch * data.ctx * data.accum) / stepSeconds,
                                      optimizerStateBytes: optimizer.stateBytes + (accumulator?.stateBytes ?? 0),
                                      peakRSSBytes: StepMetrics.peakRSS,
                                      seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            guard loss.isFinite else {
                progress.finish()
                throw ToolError("training diverged at step \(step) (loss \(loss)); try a smaller --lr")
            }
            try log?.write(metrics.jsonLine)
            try tsv?.write(metrics.tsvLine)
            progress.update(step)
            if run.verbose || (evaluate && !run.quiet && !run.showsProgress) {
                ToolRunner.writeError("step \(step) loss \(Format.fixed(loss, 4))" + (metrics.validationLoss.map { " val \(Format.fixed($0, 4))" } ?? "")
                                      + " lr \(rate) \(Format.fixed(metrics.tokensPerSecond, 0)) tokens/s")
            }
            if let every = output.saveEvery, step % every == 0 || step == data.steps { try saveState() }
            if let signal = ToolRunner.interruptedBy {
                progress.finish()
                try saveState()
                try TrainingCheckpoint.write(trainable, tokenizer: tokenizer, run: runText, step: step, optimizer: nil, to: target.sink, name: target.name)
                try target.commit()
                ToolRunner.writeError("\(tool): stopped at step \(step)" + (output.statePath.map { "; continue with --resume \($0)" } ?? ""))
                exit(128 + signal)
            }
        }
        progress.finish()
        try TrainingCheckpoint.write(trainable, tokenizer: tokenizer, run: runText, step: trainer.step, optimizer: nil, to: target.sink, name: target.name)
        try target.commit()
    }
}
