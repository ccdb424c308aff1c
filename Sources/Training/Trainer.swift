import Kernels
import LM
import Optimizers

/// The training loop that floratrain and gingeropt share: per step, `accumulation` micro-batches of
/// `batch` windows, each window `context` tokens; the loss averaged over micro-batches; an update per
/// tensor. Without accumulation each tensor is updated as soon as the backward pass hands out its
/// gradient (no gradient buffers); with it, gradients go through a `GradientAccumulator` (plain or
/// Flora-compressed) and are applied at the end of the step.
public final class Trainer {
    public struct Settings: Sendable {
        public var batch: Int
        public var context: Int
        public var accumulation: Int
        public var schedule: LearningRateSchedule
        public var seed: UInt64
        public var validationWindows = 20

        public init(batch: Int, context: Int, accumulation: Int, schedule: LearningRateSchedule, seed: UInt64) {
            self.batch = batch
            self.context = context
            self.accumulation = accumulation
            self.schedule = schedule
            self.seed = seed
        }
    }

    public let model: TrainableModel
    public let optimizer: Optimizer
    public let accumulator: GradientAccumulator?
    public let corpus: TextCorpus
    public let settings: Settings
    /// Steps completed.
    public private(set) var step: Int

    public init(model: TrainableModel, optimizer: Optimizer, accumulator: GradientAccumulator?, corpus: TextCorpus,
                settings: Settings, completedSteps: Int = 0) {
        precondition(settings.accumulation == 1 || accumulator != nil, "accumulating needs an accumulator")
        self.model = model
        self.optimizer = optimizer
        self.accumulator = accumulator
        self.corpus = corpus
        self.settings = settings
        step = completedSteps
    }

    /// Runs one optimizer step; returns the mean training loss over its micro-batches.
    public func trainStep() -> Double {
        let rate = settings.schedule.rate(at: step)
        let weights = model.weights
        let k = settings.accumulation
        var total = 0.0
        for micro in 0..<k {
            let (inputs, targets) = corpus.trainingBatch(step: step, micro: micro, sequences: settings.batch, length: settings.context, seed: settings.seed)
            total += model.lossAndGradients(inputs: inputs, targets: targets, gradientScale: 1 / Float(k)) { index, gradient in
                if let accumulator, k > 1 {
                    accumulator.add(index, UnsafeBufferPointer(gradient))
                } else {
                    weights.modify(index) { optimizer.update(index, weights: $0, gradient: gradient, learningRate: rate) }
                }
            }
        }
        if let accumulator, k > 1 {
            for index in 0..<weights.count {
                accumulator.withGradient(index) { gradient in
                    weights.modify(index) { optimizer.update(index, weights: $0, gradient: gradient, learningRate: rate) }
                }
            }
            accumulator.reset()
        }
        optimizer.endStep()
        step += 1
        return total / Double(k)
    }

    /// Mean loss over the fixed validation windows, nil when the held-out text is shorter than a window.
    public func validationLoss() -> Double? {
        let (inputs, targets) = corpus.validationWindows(count: settings.validationWindows, length: settings.context)
        guard !inputs.isEmpty else { return nil }
        var total = 0.0
        for start in stride(from: 0, to: inputs.count, by: settings.batch) {
            let end = min(inputs.count, start + settings.batch)
            total += model.loss(inputs: Array(inputs[start..<end]), targets: Array(targets[start..<end])) * Double(end - start)
        }
        return total / Double(inputs.count)
    }
}
