import Kernels
import LM
import Optimizers

/// The training loop that floratrain and gingeropt share: per step, `accumulation` micro-batches from
/// the source; the loss averaged over them; an update per tensor. Without accumulation each tensor is
/// updated as soon as the backward pass hands out its gradient (no gradient buffers); with it,
/// gradients go through a `GradientAccumulator` (plain or Flora-compressed) and are applied at the end
/// of the step. Optimizers that want curvature (Ginger) get the sampled-label gradients of the first
/// micro-batch before the update.
public final class Trainer<Network: TrainableNetwork, Source: BatchSource> where Source.Batch == Network.Batch {
    public let network: Network
    public let optimizer: Optimizer
    public let accumulator: GradientAccumulator?
    public let source: Source
    public let accumulation: Int
    public let schedule: LearningRateSchedule
    /// Seeds the labels sampled for curvature.
    public let seed: UInt64
    /// Steps completed.
    public private(set) var step: Int

    public init(network: Network, optimizer: Optimizer, accumulator: GradientAccumulator?, source: Source,
                accumulation: Int, schedule: LearningRateSchedule, seed: UInt64, completedSteps: Int = 0) {
        precondition(accumulation == 1 || accumulator != nil, "accumulating needs an accumulator")
        self.network = network
        self.optimizer = optimizer
        self.accumulator = accumulator
        self.source = source
        self.accumulation = accumulation
        self.schedule = schedule
        self.seed = seed
        step = completedSteps
    }

    /// Runs one optimizer step; returns the mean training loss over its micro-batches.
    public func trainStep() -> Double {
        let rate = schedule.rate(at: step)
        let weights = network.weights
        let optimizer = self.optimizer
        let k = accumulation
        let observer = (optimizer as? CurvatureObserver).flatMap { $0.wantsCurvature ? $0 : nil }
        var total = 0.0
        for micro in 0..<k {
            let batch = source.trainingBatch(step: step, micro: micro)
            let curvatureSeed = observer != nil && micro == 0 ? GaussianStream.mix(seed ^ UInt64(step) &* 0x9E37_79B9) : nil
            total += network.lossAndGradients(batch, gradientScale: 1 / Float(k), curvatureSeed: curvatureSeed,
                                              curvature: { observer?.observeCurvature($0, gradient: UnsafeBufferPointer($1)) }) { index, gradient in
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

    /// Mean loss over the held-out batches, nil when there are none.
    public func validationLoss() -> Double? {
        let batches = source.validationBatches()
        guard !batches.isEmpty else { return nil }
        return batches.reduce(0.0) { $0 + network.loss($1) } / Double(batches.count)
    }
}
