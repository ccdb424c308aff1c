import ArgumentParser
import Optimizers
import ToolSupport
import TrainTool

/// `gingeropt`: train a language model or an MLP classifier with Ginger (or AdamW, or the signum ablation).
struct GingerOpt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gingeropt",
        abstract: "Train a language model or an MLP classifier with the Ginger optimizer (or AdamW, or sign-of-momentum).")

    enum Task: String, ExpressibleByArgument, CaseIterable { case lm, classify }
    enum OptimizerName: String, ExpressibleByArgument, CaseIterable { case ginger, adamw, signum }

    @Option(name: .long, help: ArgumentHelp("lm (text files) or classify (a CSV file).", valueName: "TASK")) var task: Task = .lm
    @Option(name: .long, help: ArgumentHelp("classify: hidden layer widths, comma-separated.", valueName: "W,...")) var hidden = "128"
    @Option(name: .long, help: ArgumentHelp("classify: the label column (header or 0-based index; default the last).", valueName: "COLUMN")) var label: String?

    @OptionGroup var model: ModelOptions
    @OptionGroup var data: DataOptions

    @Option(name: .long, help: ArgumentHelp("ginger, adamw, or signum (Ginger with the curvature off).", valueName: "NAME"))
    var optim: OptimizerName = .ginger
    @Option(name: .long, help: ArgumentHelp("Momentum (default: \(Ginger.Settings().beta1) for ginger and signum, 0.9 for adamw).", valueName: "B1")) var beta1: Double?
    @Option(name: .long, help: ArgumentHelp("Ginger: EMA rate of the curvature.", valueName: "B2")) var beta2: Double = 0.99
    @Option(name: .long, help: ArgumentHelp("Ginger: rank tau of the curvature per tensor.", valueName: "TAU")) var rank = 4
    @Option(name: .long, help: ArgumentHelp("Ginger/signum: damping lambda.", valueName: "L")) var lambda: Double = Ginger.Settings().lambda
    @Option(name: .long, help: ArgumentHelp("Ginger/signum: per-coordinate clip rho of the step (0: none).", valueName: "R")) var rho: Double = 1
    @Option(name: .long, help: ArgumentHelp("Decoupled weight decay.", valueName: "WD")) var weightDecay: Float = 0

    @OptionGroup var output: TrainingOutputOptions
    @OptionGroup var runOptions: RunOptions

    func validate() throws {
        if rank < 1 { throw ValidationError("--rank must be positive") }
        if !(lambda > 0) { throw ValidationError("--lambda must be positive") }
        if rho < 0 { throw ValidationError("--rho cannot be negative") }
        if let beta1, !(0..<1).contains(beta1) { throw ValidationError("--beta1 must be in [0, 1)") }
        if !(0..<1).contains(beta2) { throw ValidationError("--beta2 must be in [0, 1)") }
        if hiddenWidths == nil { throw ValidationError("--hidden takes positive widths separated by commas, such as 128,64") }
    }

    private var hiddenWidths: [Int]? {
        let widths = hidden.split(separator: ",").map { Int($0) }
        return widths.allSatisfy({ ($0 ?? 0) > 0 }) && !widths.isEmpty ? widths.map { $0! } : nil
    }

    func run() throws {
        var settings: [(String, String)] = [("weight_decay", "\(weightDecay)")]
        let make: ([[Int]]) -> Optimizer
        let learningRate: Float
        switch optim {
        case .adamw:
            let beta1 = beta1 ?? 0.9
            settings.append(("beta1", "\(beta1)"))
            learningRate = 1e-3
            make = { AdamW(shapes: $0, beta1: Float(beta1), weightDecay: weightDecay) }
        case .ginger, .signum:
            var ginger = Ginger.Settings()
            ginger.beta1 = beta1 ?? ginger.beta1
            settings.append(("beta1", "\(ginger.beta1)"))
            learningRate = Ginger.defaultLearningRate
            ginger.beta2 = beta2
            ginger.rank = rank
            ginger.lambda = lambda
            ginger.rho = rho > 0 ? rho : nil
            ginger.curvature = optim == .ginger
            ginger.weightDecay = weightDecay
            settings += [("beta2", "\(beta2)"), ("rank", "\(rank)"), ("lambda", "\(lambda)"), ("rho", "\(rho)")]
            make = { Ginger(shapes: $0, settings: ginger) }
        }
        let choice = TrainingSession.OptimizerChoice(name: optim.rawValue, settings: settings, defaultLearningRate: learningRate, make: make) {
            GradientAccumulator(shapes: $0)
        }
        let session = TrainingSession(tool: "gingeropt", model: model, data: data, output: output, run: runOptions)
        switch task {
        case .lm: try session.trainLanguageModel(choice)
        case .classify: try session.trainClassifier(choice, hidden: hiddenWidths!, label: label)
        }
    }
}
