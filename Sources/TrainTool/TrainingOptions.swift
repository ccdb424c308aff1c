import ArgumentParser
import LM
import Training

/// Where the model comes from: a checkpoint (`--init`), a named size (`--config`), or explicit
/// dimensions; new models are byte-level (vocabulary 256).
public struct ModelOptions: ParsableArguments {
    @Option(name: .customLong("init"), help: ArgumentHelp("Start from this model (GGUF, safetensors, .nz; any tensor type).", valueName: "CKPT"))
    public var initial: String?

    @Option(name: .long, help: ArgumentHelp("A new model of a named size: tiny (2x64), small (4x256, the Flora reference's), base (8x512).", valueName: "NAME"))
    public var config: String?

    @Option(name: .long, help: ArgumentHelp("Width of a new model.", valueName: "D")) public var dim: Int?
    @Option(name: .long, help: ArgumentHelp("Blocks of a new model.", valueName: "L")) public var layers: Int?
    @Option(name: .long, help: ArgumentHelp("Attention heads of a new model.", valueName: "H")) public var heads: Int?
    @Option(name: .long, help: ArgumentHelp("Key/value heads of a new model (default: --heads).", valueName: "H")) public var kvHeads: Int?
    @Option(name: .long, help: ArgumentHelp("FFN width of a new model (default: 8/3 D rounded up to 16).", valueName: "F")) public var ffn: Int?
    @Flag(name: .long, help: "Tie a new model's output head to its embedding.") public var tied = false

    @Flag(name: .long, help: "Keep the weights NeuZip-compressed in memory, expanded one layer at a time (bit-identical results, less memory).")
    public var compressWeights = false

    public init() {}

    /// The configuration of a new model from the flags.
    public func newConfig() throws -> LlamaConfig {
        var (d, l, h) = (256, 4, 4)
        switch config {
        case nil, "small": break
        case "tiny": (d, l, h) = (64, 2, 4)
        case "base": (d, l, h) = (512, 8, 8)
        case let other?: throw ValidationError("unknown --config '\(other)' (tiny, small, base)")
        }
        d = dim ?? d
        l = layers ?? l
        h = heads ?? h
        let f = ffn ?? ((8 * d / 3 + 15) / 16 * 16)
        let kv = kvHeads ?? h
        guard d > 0, l > 0, h > 0, kv > 0, f > 0, d % h == 0, h % kv == 0, (d / h) % 2 == 0 else {
            throw ValidationError("inconsistent model shape: --dim \(d) --heads \(h) --kv-heads \(kv) (dim/heads must be even)")
        }
        return LlamaConfig(layers: l, dim: d, ffn: f, heads: h, kvHeads: kv, vocab: 256, ropeBase: 10000, normEpsilon: 1e-5,
                           contextLength: 2048, ropeStyle: .rotateHalf)
    }

    /// Whether a shape option was given.
    private var givesShape: Bool { dim != nil || layers != nil || heads != nil || kvHeads != nil || ffn != nil || tied }

    /// True when no language-model option was given at all.
    public var describesNoModel: Bool { initial == nil && config == nil && !givesShape && !compressWeights }

    public func validate() throws {
        if initial != nil && (config != nil || givesShape) { throw ValidationError("--init excludes --config and the shape options") }
    }
}

/// The text, windows, batches and schedule.
public struct DataOptions: ParsableArguments {
    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Training text files ('-': standard input); the last 10% of the tokens are held out.", valueName: "FILE"))
    public var data: [String] = []

    @Option(name: .long, help: ArgumentHelp("Optimizer steps.", valueName: "N")) public var steps = 1000
    @Option(name: .long, help: ArgumentHelp("Windows per micro-batch.", valueName: "B")) public var batch = 8
    @Option(name: .long, help: ArgumentHelp("Tokens per window.", valueName: "T")) public var ctx = 128
    @Option(name: .long, help: ArgumentHelp("Micro-batches per step (gradient accumulation).", valueName: "K")) public var accum = 1
    @Option(name: .long, help: ArgumentHelp("Peak learning rate (default: the optimizer's; see the man page).", valueName: "LR")) public var lr: Float?
    @Option(name: .long, help: ArgumentHelp("Warmup steps (linear).", valueName: "W")) public var warmup = 0
    @Option(name: .long, help: ArgumentHelp("constant or cosine (to 10% at the last step).", valueName: "SHAPE"))
    public var schedule: LearningRateSchedule.Shape = .constant
    @Option(name: .long, help: ArgumentHelp("Seed of initialisation, data order and projections.", valueName: "N")) public var seed: UInt64 = 7
    @Option(name: .long, help: ArgumentHelp("Validation loss every N steps (0: only at the end).", valueName: "N")) public var evalEvery = 100

    public init() {}

    public func validate() throws {
        if data.isEmpty { throw ValidationError("--data needs at least one text file") }
        if steps < 1 || batch < 1 || ctx < 2 || accum < 1 { throw ValidationError("--steps, --batch, --accum must be positive and --ctx at least 2") }
        if let lr, !(lr > 0) { throw ValidationError("--lr must be positive") }
        if warmup < 0 || evalEvery < 0 { throw ValidationError("--warmup and --eval-every cannot be negative") }
    }
}

extension LearningRateSchedule.Shape: ExpressibleByArgument {}

/// Outputs: the model, periodic training states, logs.
public struct TrainingOutputOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp("The trained model (safetensors; '-': standard output).", valueName: "OUT"))
    public var output: String

    @Flag(name: .shortAndLong, help: "Overwrite existing outputs.") public var force = false

    @Option(name: .long, help: ArgumentHelp("Save the training state (model and optimizer) every N steps.", valueName: "N")) public var saveEvery: Int?

    @Option(name: .long, help: ArgumentHelp("Where training states go (default: OUT.state when OUT is a file).", valueName: "FILE"))
    public var state: String?

    @Option(name: .long, help: ArgumentHelp("Continue exactly from a training state.", valueName: "FILE")) public var resume: String?

    @Option(name: .long, help: ArgumentHelp("Metrics as JSON lines.", valueName: "FILE")) public var log: String?

    @Option(name: .long, help: ArgumentHelp("Loss curve as TSV for gnuplot (step, loss, val_loss, seconds).", valueName: "FILE")) public var tsv: String?

    public init() {}

    /// The training-state path, if states are written.
    public var statePath: String? { state ?? (output == "-" ? nil : output + ".state") }

    public func validate() throws {
        if let saveEvery, saveEvery < 1 { throw ValidationError("--save-every must be positive") }
        if saveEvery != nil && statePath == nil { throw ValidationError("with -o -, --save-every needs --state FILE") }
    }
}
