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

/// The runs that floratrain and gingeropt share: a model and its data from the flags (or a training
/// state to resume), then one loop with logs, periodic states, SIGINT handling and the output.
public struct TrainingSession {
    /// The optimizer of a run: its name, the settings that identify the run, and how to make it.
    public struct OptimizerChoice {
        public let name: String
        public let settings: [(String, String)]
        /// The peak learning rate when `--lr` is not given.
        public let defaultLearningRate: Float
        public let make: ([[Int]]) throws -> Optimizer
        public let makeAccumulator: ([[Int]]) -> GradientAccumulator

        public init(name: String, settings: [(String, String)], defaultLearningRate: Float, make: @escaping ([[Int]]) throws -> Optimizer,
                    makeAccumulator: @escaping ([[Int]]) -> GradientAccumulator) {
            self.name = name
            self.settings = settings
            self.defaultLearningRate = defaultLearningRate
            self.make = make
            self.makeAccumulator = makeAccumulator
        }
    }

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

    /// Trains a language model on the text files of --data.
    public func trainLanguageModel(_ choice: OptimizerChoice) throws {
        if output.resume != nil && (model.initial != nil || model.config != nil) {
            throw ValidationError("--resume continues the model in the state file: it excludes --init and --config")
        }
        Gemm.setThreads(run.resolvedThreads)
        let config: LlamaConfig, tokenizer: Tokenizer
        var tensors: [FloatTensor]
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
        let parameters = tensors.reduce(0) { $0 + $1.values.count }
        let network = try TrainableModel(config: config, tensors: consume tensors, compressWeights: model.compressWeights)
        let corpus = try TextCorpus(files: data.data, tokenizer: tokenizer)
        guard corpus.training.count > data.ctx + 1 else {
            throw CheckpointError(file: data.data.joined(separator: ", "), "\(corpus.training.count) training tokens: fewer than one window of --ctx \(data.ctx)")
        }
        let source = TextBatches(corpus: corpus, sequences: data.batch, length: data.ctx, seed: data.seed)
        if run.verbose {
            ToolRunner.writeError("\(tool): \(config.layers) layers, dim \(config.dim), \(config.heads) heads, vocab \(config.vocab), "
                                  + "\(parameters) parameters; \(corpus.training.count) training and "
                                  + "\(corpus.validation.count) validation tokens")
        }
        try loop(network: network, source: source, choice: choice, identity: [("task", "lm"), ("ctx", "\(data.ctx)")],
                 itemsPerRow: (data.ctx, "tokens"), resumed: resumed,
                 metadata: TrainingCheckpoint.languageModelMetadata(network, tokenizer: tokenizer), accuracy: nil)
    }

    /// Trains an MLP classifier (`hidden` widths) on the CSV file of --data, `label` naming its label column.
    public func trainClassifier(_ choice: OptimizerChoice, hidden: [Int], label: String?) throws {
        Gemm.setThreads(run.resolvedThreads)
        guard data.data.count == 1 else { throw ValidationError("--task classify takes one CSV file in --data") }
        guard model.describesNoModel else {
            throw ValidationError("--task classify builds its MLP from --hidden: the language-model options (--init, --config, shape, --compress-weights) do not apply")
        }
        let table = try TabularData(path: data.data[0], label: label, batchSize: data.batch, seed: data.seed)
        let sizes = [table.featureCount] + hidden + [table.classes.count]
        var tensors = MLPClassifier.initialTensors(sizes, seed: data.seed)
        var resumed: TrainingCheckpoint.Resumed?
        if let resume = output.resume {
            let checkpoint = try Checkpoint.open(resume)
            resumed = try TrainingCheckpoint.read(checkpoint)
            tensors = try MLPClassifier.layout(sizes).map { name, shape in
                guard let index = checkpoint.index(of: name), checkpoint.tensors[index].shape == shape else {
                    throw CheckpointError(file: resume, "has no tensor \(name) \(shape): not a state of this classifier")
                }
                return FloatTensor(name: name, shape: shape, values: try checkpoint.floats(of: index))
            }
        }
        let network = try MLPClassifier(sizes: sizes, tensors: tensors)
        let description = JSONWriter.string(.object([
            ("sizes", .array(sizes.map { .number(String($0)) })), ("features", .array(table.featureNames.map { .string($0) })),
            ("classes", .array(table.classes.map { .string($0) })), ("mean", .array(table.mean.map { .number("\($0)") })),
            ("deviation", .array(table.deviation.map { .number("\($0)") })),
        ]))
        if run.verbose {
            ToolRunner.writeError("\(tool): MLP \(sizes.map(String.init).joined(separator: "-")); \(table.training.rows) training and "
                                  + "\(table.heldOut.rows) held-out rows, classes \(table.classes.joined(separator: ", "))")
        }
        try loop(network: network, source: table, choice: choice,
                 identity: [("task", "classify"), ("hidden", hidden.map(String.init).joined(separator: ","))],
                 itemsPerRow: (1, "rows"), resumed: resumed,
                 metadata: [("classifier", description)], accuracy: { network.accuracy(table.heldOut) })
    }

    /// The loop both tasks share: optimizer (restored when resuming), outputs, logs, states, signals.
    /// `itemsPerRow` is what one batch row counts for in the throughput (tokens of a window, or one row).
    private func loop<Network: TrainableNetwork, Source: BatchSource>(
        network: Network, source: Source, choice: OptimizerChoice, identity taskIdentity: [(String, String)],
        itemsPerRow: (count: Int, unit: String), resumed: TrainingCheckpoint.Resumed?, metadata: [(key: String, value: String)], accuracy: (() -> Double)?
    ) throws where Source.Batch == Network.Batch {
        let shapes = network.weights.shapes
        let peak = data.lr ?? choice.defaultLearningRate
        // The run's identity: what must not change across a resume.
        var identity: [(String, String)] = [("optimizer", choice.name), ("batch", "\(data.batch)"), ("accum", "\(data.accum)"),
                                            ("lr", "\(peak)"), ("warmup", "\(data.warmup)"), ("schedule", data.schedule.rawValue),
                                            ("seed", "\(data.seed)")] + taskIdentity
        if data.schedule == .cosine { identity.append(("steps", "\(data.steps)")) }
        identity += choice.settings
        let runText = JSONWriter.string(.object(identity.map { ($0.0, .string($0.1)) }))
        let optimizer = try choice.make(shapes)
        let accumulator = data.accum > 1 ? choice.makeAccumulator(shapes) : nil
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
        // Outputs are opened before the work, so that a refusal comes at once.
        let target = output.output == "-" ? try OutputTarget.standardOutput(force: output.force) : try OutputTarget.file(output.output, force: output.force)
        if let statePath = output.statePath, output.saveEvery != nil, statePath != output.resume, !output.force, access(statePath, F_OK) == 0 {
            throw CheckpointError(file: statePath, "already exists (use -f to overwrite it)")
        }
        let log = try output.log.map { try LineLog(path: $0, append: resumed != nil) }
        let tsv = try output.tsv.map { try LineLog(path: $0, append: resumed != nil) }
        if resumed == nil { try tsv?.write(StepMetrics.tsvHeader) }

        let schedule = LearningRateSchedule(peak: peak, warmup: data.warmup, total: data.steps, shape: data.schedule)
        let trainer = Trainer(network: network, optimizer: optimizer, accumulator: accumulator, source: source, accumulation: data.accum,
                              schedule: schedule, seed: data.seed, completedSteps: resumed?.step ?? 0)
        func save(to sink: ByteSink, name: String, withState: Bool) throws {
            try TrainingCheckpoint.write(network.weights, metadata: metadata, run: runText, step: trainer.step,
                                         optimizer: withState ? (choice.name, optimizer, accumulator) : nil, to: sink, name: name)
        }
        func saveState() throws {
            guard let statePath = output.statePath else { return }
            let file = try AtomicFile(path: statePath, overwrite: true)
            try save(to: file, name: statePath, withState: true)
            try file.commit()
        }
        if run.verbose { ToolRunner.writeError("\(tool): optimizer \(choice.name), state \(Format.bytes(optimizer.stateBytes))") }
        let progress = Progress(label: tool, total: data.steps, enabled: run.showsProgress) { "step \($0)" }
        ToolRunner.deferInterruptions()
        let started = DispatchTime.now().uptimeNanoseconds
        let itemsPerStep = data.batch * data.accum * itemsPerRow.count
        while trainer.step < data.steps {
            let stepStart = DispatchTime.now().uptimeNanoseconds
            let rate = schedule.rate(at: trainer.step)
            let loss = trainer.trainStep()
            let stepSeconds = Double(DispatchTime.now().uptimeNanoseconds - stepStart) / 1e9
            let step = trainer.step
            let evaluate = step == data.steps || (data.evalEvery > 0 && step % data.evalEvery == 0)
            var metrics = StepMetrics(step: step, loss: loss, validationLoss: evaluate ? trainer.validationLoss() : nil, learningRate: rate,
                                      tokensPerSecond: Double(itemsPerStep) / stepSeconds,
                                      optimizerStateBytes: optimizer.stateBytes + (accumulator?.stateBytes ?? 0),
                                      weightBytes: network.weights.storedBytes, peakRSSBytes: peakResidentBytes,
                                      seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
            if evaluate { metrics.validationAccuracy = accuracy?() }
            guard loss.isFinite else {
                progress.finish()
                throw ToolError("training diverged at step \(step) (loss \(loss)); try a smaller --lr")
            }
            try log?.write(metrics.jsonLine)
            try tsv?.write(metrics.tsvLine)
            progress.update(step)
            if run.verbose || (evaluate && !run.quiet && !run.showsProgress) {
                ToolRunner.writeError("step \(step) loss \(Format.fixed(loss, 4))" + (metrics.validationLoss.map { " val \(Format.fixed($0, 4))" } ?? "")
                                      + (metrics.validationAccuracy.map { " accuracy \(Format.fixed(100 * $0, 2))%" } ?? "")
                                      + " lr \(rate) \(Format.fixed(metrics.tokensPerSecond, 0)) \(itemsPerRow.unit)/s")
            }
            if let every = output.saveEvery, step % every == 0 || step == data.steps { try saveState() }
            if let signal = ToolRunner.interruptedBy {
                progress.finish()
                try saveState()
                try save(to: target.sink, name: target.name, withState: false)
                try target.commit()
                ToolRunner.writeError("\(tool): stopped at step \(step)" + (output.statePath.map { "; continue with --resume \($0)" } ?? ""))
                exit(128 + signal)
            }
        }
        progress.finish()
        try save(to: target.sink, name: target.name, withState: false)
        try target.commit()
    }
}
