#if canImport(Glibc)
import Glibc
#endif

/// The decoder's layers as plain functions over flat row-major buffers (llm.c style). Each has a naive
/// scalar reference in the tests.
public enum Layers {
    /// out[t] = x[t] / rms(x[t]) * weight, for `rows` rows of `dim`.
    public static func rmsNorm(_ x: UnsafePointer<Float>, _ weight: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>,
                               rows: Int, dim: Int, epsilon: Float) {
        for t in 0..<rows {
            let row = x + t * dim, o = out + t * dim
            var sum: Float = 0
            for i in 0..<dim { sum += row[i] * row[i] }
            let scale = 1 / (sum / Float(dim) + epsilon).squareRoot()
            for i in 0..<dim { o[i] = row[i] * scale * weight[i] }
        }
    }

    /// Rotary position embedding on adjacent pairs (2i, 2i+1) of each head, as llama.cpp's GGUF files
    /// expect: x[t, h, 2i..2i+1] rotated by angle (first + t) * base^(-2i / headDim).
    public static func rope(_ x: UnsafeMutablePointer<Float>, rows: Int, heads: Int, headDim: Int, base: Float, firstPosition: Int = 0) {
        for i in 0..<(headDim / 2) {
            let frequency = pow(base, -Float(2 * i) / Float(headDim))
            for t in 0..<rows {
                let angle = Float(firstPosition + t) * frequency
                let c = cos(angle), s = sin(angle)
                for h in 0..<heads {
                    let p = x + (t * heads + h) * headDim + 2 * i
                    let a = p[0], b = p[1]
                    p[0] = a * c - b * s
                    p[1] = a * s + b * c
                }
            }
        }
    }

    /// Row-wise softmax over the first `valid(row)` entries of each row; the rest become 0.
    public static func causalSoftmax(_ scores: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for t in 0..<rows {
            let row = scores + t * columns
            let valid = min(columns, t + 1)
            var peak = -Float.infinity
            for j in 0..<valid { peak = max(peak, row[j]) }
            var sum: Float = 0
            for j in 0..<valid {
                row[j] = exp(row[j] - peak)
                sum += row[j]
            }
            for j in 0..<valid { row[j] /= sum }
            for j in valid..<columns { row[j] = 0 }
        }
    }

    /// gate[i] = silu(gate[i]) * up[i].
    public static func swiGLU(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + exp(-g)) * up[i]
        }
    }
}
