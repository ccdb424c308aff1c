import Checkpoint
import LM

/// What the training loop needs of a model: its weights, and forward/backward passes over its batches.
/// The language model and the MLP classifier both conform.
public protocol TrainableNetwork: AnyObject {
    associatedtype Batch
    var weights: ParameterStore { get }
    /// Mean loss of `batch`.
    func loss(_ batch: Batch) -> Double
    /// Forward and backward: the mean loss; `deliver` gets each tensor's gradient of (loss x scale) once.
    /// With `curvatureSeed`, `curvature` first gets the gradients for labels sampled from the model's own
    /// predictions, scaled so that their outer product estimates the Gauss-Newton matrix.
    func lossAndGradients(_ batch: Batch, gradientScale: Float, curvatureSeed: UInt64?,
                          curvature: ((Int, UnsafeMutableBufferPointer<Float>) -> Void)?,
                          deliver: (Int, UnsafeMutableBufferPointer<Float>) -> Void) -> Double
}

/// Where batches come from: training batches as a pure function of (step, micro-batch), and the fixed
/// held-out batches.
public protocol BatchSource {
    associatedtype Batch
    func trainingBatch(step: Int, micro: Int) -> Batch
    func validationBatches() -> [Batch]
}

/// A language-model batch: input windows and their next-token targets.
public struct TokenBatch {
    public var inputs: [[Int32]]
    public var targets: [[Int32]]
}

extension TrainableModel: TrainableNetwork {
    public func loss(_ batch: TokenBatch) -> Double { loss(inputs: batch.inputs, targets: batch.targets) }

    public func lossAndGradients(_ batch: TokenBatch, gradientScale: Float, curvatureSeed: UInt64?,
                                 curvature: ((Int, UnsafeMutableBufferPointer<Float>) -> Void)?,
                                 deliver: (Int, UnsafeMutableBufferPointer<Float>) -> Void) -> Double {
        lossAndGradients(inputs: batch.inputs, targets: batch.targets, gradientScale: gradientScale,
                         curvatureSeed: curvatureSeed, curvature: curvature, deliver: deliver)
    }
}

/// The windows of a `TextCorpus` for a batch shape and seed.
public struct TextBatches: BatchSource {
    public let corpus: TextCorpus
    public let sequences: Int, length: Int, seed: UInt64, validationWindows: Int

    public init(corpus: TextCorpus, sequences: Int, length: Int, seed: UInt64, validationWindows: Int = 20) {
        self.corpus = corpus
        self.sequences = sequences
        self.length = length
        self.seed = seed
        self.validationWindows = validationWindows
    }

    public func trainingBatch(step: Int, micro: Int) -> TokenBatch {
        let (inputs, targets) = corpus.trainingBatch(step: step, micro: micro, sequences: sequences, length: length, seed: seed)
        return TokenBatch(inputs: inputs, targets: targets)
    }

    /// The fixed validation windows in batches of equal size (the largest divisor of their count up to
    /// `sequences`), so that the mean of batch means is the mean over windows.
    public func validationBatches() -> [TokenBatch] {
        let (inputs, targets) = corpus.validationWindows(count: validationWindows, length: length)
        guard !inputs.isEmpty else { return [] }
        let size = (1...min(sequences, inputs.count)).last { inputs.count % $0 == 0 }!
        return stride(from: 0, to: inputs.count, by: size).map { start in
            let end = start + size
            return TokenBatch(inputs: Array(inputs[start..<end]), targets: Array(targets[start..<end]))
        }
    }
}
