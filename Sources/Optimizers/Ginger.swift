import Checkpoint
import Kernels

/// Ginger (Hao, Cao & Mou): momentum preconditioned by a damped low-rank generalised Gauss-Newton
/// matrix, per tensor. The curvature G is the top-tau part of an EMA of ng ng^T, where ng is the
/// gradient for labels sampled from the model's own predictions (`observeCurvature`); the step is
/// (G + lambda I)^-1 m_hat, applied by Woodbury in O(d tau), clipped to [-rho, rho] per coordinate.
///
/// G = U diag(sigma) U^T is kept as its eigenpairs (U: d x tau orthonormal), updated exactly each
/// step: the new matrix lives in span(U, ng), so its eigenpairs come from a (tau+1)-sized eigenproblem
/// solved in Double (the reference's float32 inverse-based update cancels catastrophically for small
/// lambda). Tensors with d <= tau keep G dense. With `curvature` off this is the sign-of-momentum
/// ablation (for small lambda the clipped step m_hat/lambda is rho * sign(m_hat)).
public final class Ginger: Optimizer, CurvatureObserver {
    /// The defaults are not the reference's (beta1 0.9, lambda 1e-8, no clip: it diverges within ten
    /// steps on a small MLP). They were chosen by sweeps on the two benchmark tasks (a byte-level
    /// language model and an MLP classifier, bench/ginger.sh), as the one setting that beats AdamW at
    /// its usual lr 1e-3 on both: lambda 1e-5 with the clip rho = 1, where most coordinates step by
    /// lr * sign, and momentum 0.85 (0.9 trails AdamW on the language model, 0.95 and 0.98 trail further).
    public struct Settings: Sendable {
        public var beta1: Double = 0.85
        public var beta2: Double = 0.99
        public var rank = 4
        public var lambda: Double = 1e-5
        /// Per-coordinate clip of the preconditioned step; nil: none.
        public var rho: Double? = 1
        public var curvature = true
        public var weightDecay: Float = 0

        public init() {}
    }

    /// The peak learning rate that goes with the default settings (see `Settings`).
    public static let defaultLearningRate: Float = 4e-4

    public let settings: Settings
    private var blocks: [CurvatureBlock<Float>]
    public private(set) var steps = 0

    public init(shapes: [[Int]], settings: Settings) {
        self.settings = settings
        blocks = shapes.map { CurvatureBlock(size: $0.reduce(1, *), rank: settings.curvature ? settings.rank : 0) }
    }

    public var wantsCurvature: Bool { settings.curvature }

    public func observeCurvature(_ index: Int, gradient: UnsafeBufferPointer<Float>) {
        blocks[index].observe(gradient, beta2: settings.beta2)
    }

    public func update(_ index: Int, weights: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>, learningRate: Float) {
        let s = settings
        blocks[index].step(gradient: UnsafeBufferPointer(gradient), beta1: s.beta1, step: steps + 1, lambda: s.lambda, into: gradient)
        let rho = Float(s.rho ?? .infinity)
        let decay = 1 - learningRate * s.weightDecay
        Parallel.forEachRange(weights.count, threads: Gemm.threadCount) { range in
            for i in range { weights[i] = weights[i] * decay - learningRate * min(rho, max(-rho, gradient[i])) }
        }
    }

    public func endStep() { steps += 1 }

    public var stateBytes: Int { blocks.reduce(0) { $0 + $1.stateBytes } }

    public func saveState() -> OptimizerState {
        var state = OptimizerState(values: ["steps": String(steps)])
        for (i, block) in blocks.enumerated() {
            let parts = block.stateParts()
            for (slot, values) in parts.tensors {
                state.tensors.append(FloatTensor(name: "ginger.\(i).\(slot)", shape: [values.count], values: values))
            }
            for (slot, text) in parts.values { state.values["ginger.\(i).\(slot)"] = text }
        }
        return state
    }

    public func restoreState(_ state: OptimizerState) throws {
        for i in blocks.indices {
            try blocks[i].restore(tensor: { slot, count in try state.tensor("ginger.\(i).\(slot)", count: count) }, value: { slot in
                guard let text = state.values["ginger.\(i).\(slot)"] else { throw OptimizerStateError("optimizer state value ginger.\(i).\(slot) is missing") }
                return text
            })
        }
        steps = try state.integer("steps")
    }
}

/// An optimizer that also wants the gradient for labels sampled from the model's predictions (scaled
/// so that E[ng ng^T] is the GGN), once per step before `update`.
public protocol CurvatureObserver: AnyObject {
    var wantsCurvature: Bool { get }
    func observeCurvature(_ index: Int, gradient: UnsafeBufferPointer<Float>)
}
