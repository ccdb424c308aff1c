import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// The backward passes of `Layers`, one beside each forward function (llm.c style): given the
/// forward's inputs (and what it saved) and the gradient of the loss with respect to its output, they
/// add the gradients with respect to its inputs and weights into the buffers given (`+=`, so that
/// contributions from several uses accumulate). Each is checked against finite differences in tests.
public enum LayerGradients {
    /// Backward of `Layers.rmsNorm` with the saved `inverseRMS`: dx += d/dx, dWeight += d/dweight.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, inverseRMS: UnsafePointer<Float>,
                               dOut: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>,
                               rows: Int, dim: Int) {
        for t in 0..<rows {
            let row = x + t * dim, g = dOut + t * dim, out = dx + t * dim
            let r = inverseRMS[t]
            var dot: Float = 0
            for i in 0..<dim {
                dot += g[i] * weight[i] * row[i]
                dWeight[i] += g[i] * row[i] * r
            }
            let correction = r * r * r * dot / Float(dim)
            for i in 0..<dim { out[i] += r * g[i] * weight[i] - correction * row[i] }
        }
    }

    /// Backward of y = x W^T for x [rows x inputs], W [outputs x inputs]: dx += dy W (when dx is given)
    /// and dW += dy^T x; with `setsInput`/`setsWeight` the first contribution is written (=), which
    /// spares zeroing the buffer first.
    public static func linear(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                              dx: UnsafeMutablePointer<Float>?, dWeight: UnsafeMutablePointer<Float>,
                              rows: Int, inputs: Int, outputs: Int, setsInput: Bool = false, setsWeight: Bool = false) {
        if let dx { Gemm.multiply(dOut, weight, into: dx, m: rows, n: inputs, k: outputs, beta: setsInput ? 0 : 1) }
        Gemm.multiply(dOut, x, into: dWeight, m: outputs, n: inputs, k: rows, transposeA: true, beta: setsWeight ? 0 : 1)
    }

    /// Backward of `Layers.swiGLU` (out = silu(gate) * up), from the saved pre-activation `gate` and `up`;
    /// writes (=) dGate and dUp, their only contribution.
    public static func swiGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                              dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>, count: Int) {
        Parallel.forEachRange(count, threads: Gemm.threadCount) { range in
            VectorMath.forEachGroup(range.count) { j, lanes in
                let i = range.lowerBound + j
                let g = VectorMath.load(gate + i, lanes), d = VectorMath.load(dOut + i, lanes)
                let sigmoid = VectorMath.sigmoid(g)
                VectorMath.store(d * g * sigmoid, dUp + i, lanes)
                VectorMath.store(d * VectorMath.load(up + i, lanes) * sigmoid * (1 + g * (1 - sigmoid)), dGate + i, lanes)
            }
        }
    }

    /// Backward of causal attention for one sequence from the saved probabilities `probabilities`
    /// [heads x positions x positions] (see `TrainingAttention.forward`): dq, dk, dv += their gradients.
    public static func causalAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                       probabilities: UnsafePointer<Float>, dOut: UnsafePointer<Float>,
                                       dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>, dv: UnsafeMutablePointer<Float>,
                                       positions T: Int, heads: Int, kvHeads: Int, headDim hd: Int, scratch: UnsafeMutablePointer<Float>) {
        let qStride = heads * hd, kvStride = kvHeads * hd
        let scale = 1 / Float(hd).squareRoot()
        for head in 0..<heads {
            let group = head / (heads / kvHeads)
            let p = probabilities + head * T * T
            // dP = dO V^T; dV += P^T dO.
            Gemm.multiply(dOut + head * hd, v + group * hd, into: scratch, m: T, n: T, k: hd, transposeB: true, lda: qStride, ldb: kvStride)
            Gemm.multiply(p, dOut + head * hd, into: dv + group * hd, m: T, n: hd, k: T, transposeA: true, beta: 1, ldb: qStride, ldc: kvStride)
            // dS = P * (dP - rowsum(P * dP)), masked entries have P = 0.
            for t in 0..<T {
                let pr = p + t * T, dr = scratch + t * T
                var dot: Float = 0
                for s in 0...t { dot += pr[s] * dr[s] }
                for s in 0...t { dr[s] = pr[s] * (dr[s] - dot) }
                for s in (t + 1)..<T { dr[s] = 0 }
            }
            // dQ += scale dS K; dK += scale dS^T Q.
            Gemm.multiply(scratch, k + group * hd, into: dq + head * hd, m: T, n: hd, k: T, alpha: scale, beta: 1, ldb: kvStride, ldc: qStride)
            Gemm.multiply(scratch, q + head * hd, into: dk + group * hd, m: T, n: hd, k: T, transposeA: true, alpha: scale, beta: 1,
                          ldb: qStride, ldc: kvStride)
        }
    }

    /// Mean cross-entropy of `logits` [rows x vocab] against `targets`; the logits are replaced by the
    /// loss's gradient with respect to them, times `gradientScale` ((softmax - onehot) / rows * scale).
    /// Returns the mean loss, summed in Double.
    public static func crossEntropy(_ logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>, rows: Int, vocab: Int,
                                    gradientScale: Float = 1) -> Double {
        var total = 0.0
        let factor = gradientScale / Float(rows)
        for t in 0..<rows {
            let row = logits + t * vocab
            let target = Int(targets[t])
            let targetLogit = row[target]
            var peak = -Float.infinity
            for j in 0..<vocab { peak = max(peak, row[j]) }
            let sum = VectorMath.exponentiate(row, count: vocab, shift: peak)
            total += log(sum) + Double(peak - targetLogit)
            let inverse = Float(1 / sum)
            for j in 0..<vocab { row[j] *= inverse * factor }
            row[target] -= factor
        }
        return total / Double(rows)
    }

    /// Labels drawn from each row's softmax(logits) with a stream seeded by `seed` (the logits are left
    /// as they are): the targets of the sampled-label loss whose gradients estimate the Gauss-Newton
    /// matrix (their outer product's expectation is the GGN, i.e. the Fisher of the model's predictions).
    public static func sampleTargets(_ logits: UnsafePointer<Float>, rows: Int, vocab: Int, seed: UInt64) -> [Int32] {
        var stream = GaussianStream(seed: seed)
        var probabilities = [Float](repeating: 0, count: vocab)
        return (0..<rows).map { t in
            let row = logits + t * vocab
            var peak = -Float.infinity
            for j in 0..<vocab { peak = max(peak, row[j]) }
            let total = probabilities.withUnsafeMutableBufferPointer { p -> Double in
                for j in 0..<vocab { p[j] = row[j] }
                return VectorMath.exponentiate(p.baseAddress!, count: vocab, shift: peak)
            }
            var u = Double(stream.nextBits() >> 11) / 9_007_199_254_740_992 * total
            for j in 0..<vocab {
                u -= Double(probabilities[j])
                if u < 0 { return Int32(j) }
            }
            return Int32(vocab - 1)
        }
    }
}
