import Checkpoint
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// AdamW (Loshchilov & Hutter), as PyTorch's torch.optim.AdamW computes it: decoupled weight decay
/// w -= lr * wd * w, then w -= lr * m_hat / (sqrt(v_hat) + eps) with bias-corrected moments.
public final class AdamW: Optimizer {
    public let beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float
    private var first: [[Float]], second: [[Float]]
    public private(set) var steps = 0

    public init(shapes: [[Int]], beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        first = shapes.map { [Float](repeating: 0, count: $0.reduce(1, *)) }
        second = first
    }

    public func update(_ index: Int, weights: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>, learningRate: Float) {
        let t = Float(steps + 1)
        let correction1 = 1 - pow(beta1, t), correction2 = 1 - pow(beta2, t)
        let stepSize = learningRate / correction1
        let decay = 1 - learningRate * weightDecay
        let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
        first[index].withUnsafeMutableBufferPointer { m in
            second[index].withUnsafeMutableBufferPointer { v in
                Parallel.forEachRange(weights.count, threads: Gemm.threadCount) { range in
                    for i in range {
                        let g = gradient[i]
                        m[i] = beta1 * m[i] + (1 - beta1) * g
                        v[i] = beta2 * v[i] + (1 - beta2) * g * g
                        weights[i] = weights[i] * decay - stepSize * m[i] / ((v[i] / correction2).squareRoot() + epsilon)
                    }
                }
            }
        }
    }

    public func endStep() { steps += 1 }

    public var stateBytes: Int { 4 * (first.reduce(0) { $0 + $1.count } + second.reduce(0) { $0 + $1.count }) }

    public func saveState() -> OptimizerState {
        var tensors: [FloatTensor] = []
        for (i, (m, v)) in zip(first, second).enumerated() {
            tensors.append(FloatTensor(name: "adamw.\(i).m", shape: [m.count], values: m))
            tensors.append(FloatTensor(name: "adamw.\(i).v", shape: [v.count], values: v))
        }
        return OptimizerState(tensors: tensors, values: ["steps": String(steps)])
    }

    public func restoreState(_ state: OptimizerState) throws {
        for i in first.indices {
            first[i] = try state.tensor("adamw.\(i).m", count: first[i].count)
            second[i] = try state.tensor("adamw.\(i).v", count: second[i].count)
        }
        steps = try state.integer("steps")
    }
}
