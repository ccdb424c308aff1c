import Kernels

extension Layers {
    /// Query rows per block of causal attention: a block's scores stop at its last row's position, so
    /// blocks skip most of the masked upper triangle (with 4 blocks, 10/16 of the full product).
    static let attentionBlockRows = 128

    /// Scratch floats `causalAttention` needs for `positions` positions.
    public static func attentionScratchCount(positions: Int) -> Int { min(positions, attentionBlockRows) * positions }

    /// Causal grouped-query attention of one sequence: for each head h (sharing K/V head
    /// h / (heads / kvHeads)), out[t, h] = softmax over s <= t of (q[t, h] . k[s, g]) / sqrt(headDim),
    /// applied to v[s, g]. q and out are [positions x heads*headDim], k and v [positions x kvHeads*headDim];
    /// heads are addressed in place through sgemm's leading dimensions.
    public static func causalAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                       out: UnsafeMutablePointer<Float>, positions: Int, heads: Int, kvHeads: Int,
                                       headDim hd: Int, scratch: UnsafeMutablePointer<Float>) {
        let qStride = heads * hd, kvStride = kvHeads * hd
        let scale = 1 / Float(hd).squareRoot()
        for head in 0..<heads {
            let group = head / (heads / kvHeads)
            var first = 0
            while first < positions {
                let rows = min(attentionBlockRows, positions - first)
                let seen = first + rows
                Gemm.multiply(q + first * qStride + head * hd, k + group * hd, into: scratch, m: rows, n: seen, k: hd,
                              transposeB: true, alpha: scale, lda: qStride, ldb: kvStride)
                causalSoftmax(scratch, rows: rows, columns: seen, firstRow: first)
                Gemm.multiply(scratch, v + group * hd, into: out + first * qStride + head * hd, m: rows, n: hd, k: seen,
                              ldb: kvStride, ldc: qStride)
                first += rows
            }
        }
    }

    /// Causal attention that keeps the probabilities, [heads x positions x positions] with zeros above the
    /// diagonal, for `LayerGradients.causalAttention` (training: whole rows, no blocks).
    public static func causalAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                       out: UnsafeMutablePointer<Float>, positions T: Int, heads: Int, kvHeads: Int,
                                       headDim hd: Int, probabilities: UnsafeMutablePointer<Float>) {
        let qStride = heads * hd, kvStride = kvHeads * hd
        let scale = 1 / Float(hd).squareRoot()
        for head in 0..<heads {
            let group = head / (heads / kvHeads)
            let p = probabilities + head * T * T
            Gemm.multiply(q + head * hd, k + group * hd, into: p, m: T, n: T, k: hd, transposeB: true, alpha: scale, lda: qStride, ldb: kvStride)
            causalSoftmax(p, rows: T, columns: T)
            Gemm.multiply(p, v + group * hd, into: out + head * hd, m: T, n: hd, k: T, ldb: kvStride, ldc: qStride)
        }
    }
}
