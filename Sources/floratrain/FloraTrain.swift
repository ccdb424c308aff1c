import ArgumentParser
import Optimizers
import ToolSupport
import TrainTool

/// `floratrain`: train or fine-tune a LLaMA-family model with Flora, Adafactor, AdamW or GaLore.
struct FloraTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "floratrain",
        abstract: "Train a LLaMA-family language model with Flora's compressed optimizer states (or Adafactor, AdamW, GaLore).")

    enum OptimizerName: String, ExpressibleByArgument, CaseIterable {
        case flora, adafactor, adamw, galore
    }

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions

    @Option(name: .long, help: ArgumentHelp("flora, adafactor, adamw or galore.", valueName: "NAME"))
    var optim: OptimizerName = .flora

    @Option(name: .long, help: ArgumentHelp("Momentum (Flora/Adafactor: default 0.9 for flora, none for adafactor; AdamW: 0.9).", valueName: "B1"))
    var beta1: Float?

    @Option(name: .long, help: ArgumentHelp("Rank of Flora's momentum projection, or of GaLore's.", valueName: "R")) var rank = 16
    @Option(name: .long, help: ArgumentHelp("Steps between resampling Flora's projection.", valueName: "K")) var kappa = 100
    @Option(name: .long, help: ArgumentHelp("Flora's projections: gaussian (the paper's), orthogonal (orthonormal, scaled to be unbiased) or subspace (orthonormal, unscaled).", valueName: "KIND"))
    var projection: RandomProjection.Kind = .gaussian
    @Flag(name: .long, help: "Flora: compress the momentum of every matrix at least --rank wide, embeddings and head included (the reference leaves matrices with sides more than 4x apart out).")
    var floraAllMatrices = false
    @Option(name: .long, help: ArgumentHelp("Compress gradient accumulation (--accum > 1) to this rank (Flora's accumulation).", valueName: "R"))
    var accumRank: Int?
    @Option(name: .long, help: ArgumentHelp("Decoupled weight decay.", valueName: "WD")) var weightDecay: Float = 0
    @Option(name: .long, help: ArgumentHelp("GaLore: steps between SVDs of the gradient.", valueName: "T")) var galoreGap = 200
    @Option(name: .long, help: ArgumentHelp("GaLore: scale of the projected-back update.", valueName: "S")) var galoreScale: Float = 0.25

    @OptionGroup var output: TrainingOutputOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        if rank < 1 || kappa < 1 || galoreGap < 1 { throw ValidationError("--rank, --kappa and --galore-gap must be positive") }
        if let beta1, !(0..<1).contains(beta1) { throw ValidationError("--beta1 must be in [0, 1)") }
        if let accumRank, accumRank < 1 { throw ValidationError("--accum-rank must be positive") }
    }

    func run() throws {
        let seed = data.seed
        var settings: [(String, String)] = [("weight_decay", "\(weightDecay)")]
        let make: ([[Int]]) -> Optimizer
        switch optim {
        case .adamw:
            settings.append(("beta1", "\(beta1 ?? 0.9)"))
            make = { AdamW(shapes: $0, beta1: beta1 ?? 0.9, weightDecay: weightDecay) }
        case .adafactor, .flora:
            var adafactor = Adafactor.Settings(beta1: optim == .flora ? (beta1 ?? 0.9) : beta1, rank: optim == .flora ? rank : nil, kappa: kappa, seed: seed)
            adafactor.weightDecay = weightDecay
            adafactor.projection = projection
            adafactor.maxAspect = floraAllMatrices ? nil : 4
            settings += [("all_matrices", "\(floraAllMatrices)"), ("beta1", "\(adafactor.beta1 ?? 0)"), ("rank", "\(adafactor.rank ?? 0)"), ("kappa", "\(kappa)"), ("projection", projection.rawValue)]
            make = { Adafactor(shapes: $0, settings: adafactor) }
        case .galore:
            settings += [("rank", "\(rank)"), ("gap", "\(galoreGap)"), ("scale", "\(galoreScale)")]
            make = { GaLore(shapes: $0, rank: rank, updateGap: galoreGap, scale: galoreScale, weightDecay: weightDecay) }
        }
        settings.append(("accum_rank", accumRank.map(String.init) ?? "none"))
        let choice = TrainingSession.OptimizerChoice(name: optim.rawValue, settings: settings, defaultLearningRate: 1e-3, make: make) { [accumRank, projection] shapes in
            GradientAccumulator(shapes: shapes, rank: accumRank, seed: seed ^ 0xACC, kind: projection)
        }
        try TrainingSession(tool: "floratrain", model: model, data: data, output: output, run: runOptions).trainLanguageModel(choice)
    }
}

extension RandomProjection.Kind: ExpressibleByArgument {}
