import Checkpoint
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// GaLore (Zhao et al. 2024) for comparison: for matrices Flora's rule admits, every `updateGap` steps
/// an SVD of the gradient G (n x m) gives a projector P, the first `rank` right singular vectors when
/// n >= m (R = G P^T, n x r) or left ones otherwise (R = P^T G, r x m); Adam runs on R, its
/// normalised update is projected back and scaled by `scale`. The moments are not re-projected when
/// P changes (as in the reference). Other tensors get plain AdamW.
public final class GaLore: Optimizer {
    public let rank: Int, updateGap: Int, scale: Float
    public let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float
    private let shapes: [[Int]]
    private let projected: [Bool]
    /// Per tensor: the projector (r x m on the right, n x r on the left), and Adam's moments of R (or of G).
    private var projectors: [[Float]], first: [[Float]], second: [[Float]]
    public private(set) var steps = 0

    public init(shapes: [[Int]], rank: Int, updateGap: Int = 200, scale: Float = 0.25, weightDecay: Float = 0) {
        self.rank = rank
        self.updateGap = updateGap
        self.scale = scale
        self.weightDecay = weightDecay
        self.shapes = shapes
        projected = shapes.map { TensorShapes.admitsLowRank($0, rank: rank) }
        projectors = []; first = []; second = []
        for (shape, low) in zip(shapes, projected) {
            let count = shape.reduce(1, *)
            let reduced = low ? (shape[0] >= shape[1] ? shape[0] * rank : rank * shape[1]) : count
            projectors.append(low ? [Float](repeating: 0, count: rank * (shape[0] >= shape[1] ? shape[1] : shape[0])) : [])
            first.append([Float](repeating: 0, count: reduced))
            second.append([Float](repeating: 0, count: reduced))
        }
    }

    public func update(_ index: Int, weights: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>, learningRate: Float) {
        let t = Float(steps + 1)
        let correction1 = 1 - pow(beta1, t), correction2 = 1 - pow(beta2, t)
        let decay = 1 - learningRate * weightDecay
        guard projected[index] else {
            adam(index, gradient: UnsafeBufferPointer(gradient), correction1: correction1, correction2: correction2) { i, step in
                weights[i] = weights[i] * decay - learningRate * step
            }
            return
        }
        let n = shapes[index][0], m = shapes[index][1], right = n >= m
        if steps % updateGap == 0, let (u, _, vt) = Lapack.svd(Array(gradient), rows: n, columns: m) {
            // Right: the first r rows of Vt (r x m). Left: the first r columns of U (n x r).
            projectors[index] = right ? Array(vt[0..<(rank * m)]) : (0..<n).flatMap { row in u[(row * min(n, m))..<(row * min(n, m) + rank)] }
        }
        var reduced = [Float](repeating: 0, count: first[index].count)
        projectors[index].withUnsafeBufferPointer { p in
            if right {
                Gemm.multiply(gradient.baseAddress!, p.baseAddress!, into: &reduced, m: n, n: rank, k: m, transposeB: true)
            } else {
                Gemm.multiply(p.baseAddress!, gradient.baseAddress!, into: &reduced, m: rank, n: m, k: n, transposeA: true)
            }
        }
        var normalised = [Float](repeating: 0, count: reduced.count)
        reduced.withUnsafeBufferPointer { r in
            adam(index, gradient: r, correction1: correction1, correction2: correction2) { i, step in normalised[i] = step }
        }
        projectors[index].withUnsafeBufferPointer { p in
            if right {
                Gemm.multiply(normalised, p.baseAddress!, into: gradient.baseAddress!, m: n, n: m, k: rank)
            } else {
                Gemm.multiply(p.baseAddress!, normalised, into: gradient.baseAddress!, m: n, n: m, k: rank)
            }
        }
        for i in 0..<weights.count { weights[i] = weights[i] * decay - learningRate * scale * gradient[i] }
    }

    /// Adam's moment updates over `gradient`; `apply(i, step)` receives each bias-corrected step.
    private func adam(_ index: Int, gradient: UnsafeBufferPointer<Float>, correction1: Float, correction2: Float, _ apply: (Int, Float) -> Void) {
        first[index].withUnsafeMutableBufferPointer { m in
            second[index].withUnsafeMutableBufferPointer { v in
                for i in 0..<gradient.count {
                    let g = gradient[i]
                    m[i] = beta1 * m[i] + (1 - beta1) * g
                    v[i] = beta2 * v[i] + (1 - beta2) * g * g
                    apply(i, (m[i] / correction1) / ((v[i] / correction2).squareRoot() + epsilon))
                }
            }
        }
    }

    public func endStep() { steps += 1 }

    public var stateBytes: Int { 4 * (projectors + first + second).reduce(0) { $0 + $1.count } }

    public func saveState() -> OptimizerState {
        var state = OptimizerState(values: ["steps": String(steps)])
        for i in shapes.indices {
            for (slot, values) in [("projector", projectors[i]), ("m", first[i]), ("v", second[i])] where !values.isEmpty {
                state.tensors.append(FloatTensor(name: "galore.\(i).\(slot)", shape: [values.count], values: values))
            }
        }
        return state
    }

    public func restoreState(_ state: OptimizerState) throws {
        for i in shapes.indices {
            if !projectors[i].isEmpty { projectors[i] = try state.tensor("galore.\(i).projector", count: projectors[i].count) }
            first[i] = try state.tensor("galore.\(i).m", count: first[i].count)
            second[i] = try state.tensor("galore.\(i).v", count: second[i].count)
        }
        steps = try state.integer("steps")
    }
}
