import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// The decoder's layers as plain functions over flat row-major buffers (llm.c style). Each has a naive
/// scalar reference in the tests.
public enum Layers {
    /// Which elements of a head RoPE rotates together: llama.cpp's GGUF files pair adjacent elements
    /// (2i, 2i+1); Hugging Face checkpoints pair each element of the first half with its partner in the
    /// second (i, i + headDim/2), "rotate half". Using the wrong one makes perplexity explode.
    public enum RopeStyle: String, Sendable {
        case adjacentPairs, rotateHalf
    }

    /// out[t] = x[t] / rms(x[t]) * weight, for `rows` rows of `dim`; the reciprocal RMS of each row goes
    /// to `inverseRMS` when given (the backward pass needs it).
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               rows: Int, dim: Int, epsilon: Float, inverseRMS: UnsafeMutablePointer<Float>? = nil) {
        for t in 0..<rows {
            let row = x + t * dim, o = out + t * dim
            var sum: Float = 0
            for i in 0..<dim { sum += row[i] * row[i] }
            let scale = 1 / (sum / Float(dim) + epsilon).squareRoot()
            inverseRMS?[t] = scale
            for i in 0..<dim { o[i] = row[i] * scale * weight[i] }
        }
    }

    /// Rotary position embedding of each head of `rows` positions (first + t), pairs chosen by `style`:
    /// the pair (a, b) at pair index i is rotated by angle (first + t) * base^(-2i / headDim). `inverse`
    /// rotates the other way, which is also the backward pass (a rotation's transpose is its inverse).
    public static func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, base: Float,
                            style: RopeStyle = .adjacentPairs, firstPosition: Int = 0, inverse: Bool = false) {
        let half = headDim / 2
        for i in 0..<half {
            let frequency = pow(base, -Float(2 * i) / Float(headDim))
            let (first, second) = style == .adjacentPairs ? (2 * i, 2 * i + 1) : (i, i + half)
            for t in 0..<rows {
                let angle = Float(firstPosition + t) * frequency
                let c = cos(angle), s = inverse ? -sin(angle) : sin(angle)
                for h in 0..<heads {
                    let p = x + (t * heads + h) * headDim
                    let a = p[first], b = p[second]
                    p[first] = a * c - b * s
                    p[second] = a * s + b * c
                }
            }
        }
    }

    /// Row-wise softmax of a causal block of attention scores: row t (query position firstRow + t)
    /// sees the first firstRow + t + 1 columns; the rest become 0. Rows are `stride` apart.
    public static func causalSoftmax(_ scores: UnsafeMutablePointer<Float>, rows: Int, columns: Int, firstRow: Int = 0, stride: Int? = nil) {
        for t in 0..<rows {
            let row = scores + t * (stride ?? columns)
            let valid = min(columns, firstRow + t + 1)
            var peak = -Float.infinity
            for j in 0..<valid { peak = max(peak, row[j]) }
            let scale = Float(1 / VectorMath.exponentiate(row, count: valid, shift: peak))
            for j in 0..<valid { row[j] *= scale }
            for j in valid..<columns { row[j] = 0 }
        }
    }

    /// gate[i] = silu(gate[i]) * up[i].
    public static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        Parallel.forEachRange(count, threads: Gemm.threadCount) { range in
            VectorMath.forEachGroup(range.count) { j, lanes in
                let i = range.lowerBound + j
                let g = VectorMath.load(gate + i, lanes)
                VectorMath.store(g * VectorMath.sigmoid(g) * VectorMath.load(up + i, lanes), gate + i, lanes)
            }
        }
    }
}
