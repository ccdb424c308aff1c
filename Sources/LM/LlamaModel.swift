import Checkpoint
import Kernels
#if canImport(Glibc)
import Glibc
#endif

/// A LLaMA-family decoder over a checkpoint with llama.cpp's tensor names (GGUF). Weights stay in the
/// checkpoint's own types and are expanded to Float one layer at a time when used, so memory holds one
/// layer's matrices plus the activations, not the expanded model.
public final class LlamaModel {
    public let config: LlamaConfig
    private let checkpoint: Checkpoint
    private let embedding: Int
    /// The output head (token embedding when tied), expanded once: every window needs all of it.
    private let outputHead: [Float]

    public init(_ checkpoint: Checkpoint) throws {
        guard let header = checkpoint.ggufHeader else {
            throw CheckpointError(file: checkpoint.name, "the model engine reads GGUF checkpoints (llama.cpp tensor names)")
        }
        guard checkpoint.isRandomAccess else {
            throw CheckpointError(file: checkpoint.name, "the model must be a file, not a pipe")
        }
        config = try LlamaConfig(gguf: header, name: checkpoint.name)
        self.checkpoint = checkpoint
        guard let embedding = checkpoint.index(of: "token_embd.weight") else {
            throw CheckpointError(file: checkpoint.name, "tensor token_embd.weight is missing")
        }
        self.embedding = embedding
        let headIndex = checkpoint.index(of: "output.weight") ?? embedding
        outputHead = try Self.matrix(checkpoint, headIndex, rows: config.vocab, columns: config.dim)
    }

    /// Tensor `index` as Float, checked to be [rows, columns].
    private static func matrix(_ checkpoint: Checkpoint, _ index: Int, rows: Int, columns: Int) throws -> [Float] {
        let tensor = checkpoint.tensors[index]
        guard tensor.elementCount == rows * columns, tensor.shape.last == columns || rows == 1 else {
            throw CheckpointError(file: checkpoint.name, "tensor '\(tensor.name)' has shape \(tensor.shape), expected [\(rows), \(columns)]")
        }
        return try checkpoint.floats(of: index)
    }

    private func weight(_ name: String, rows: Int, columns: Int) throws -> [Float] {
        guard let index = checkpoint.index(of: name) else { throw CheckpointError(file: checkpoint.name, "tensor \(name) is missing") }
        return try Self.matrix(checkpoint, index, rows: rows, columns: columns)
    }

    /// Embedding rows of `tokens`, decoding only those rows.
    private func embed(_ tokens: [Int32]) throws -> [Float] {
        let tensor = checkpoint.tensors[embedding]
        let dim = config.dim
        guard let rowBytes = tensor.type.byteCount(elements: dim) else {
            throw CheckpointError(file: checkpoint.name, "token_embd.weight rows do not hold whole blocks")
        }
        let all = try checkpoint.bytes(of: embedding)
        var out = [Float](repeating: 0, count: tokens.count * dim)
        try out.withUnsafeMutableBufferPointer { buffer in
            for (t, token) in tokens.enumerated() {
                guard token >= 0 && Int(token) < config.vocab else { throw CheckpointError(file: checkpoint.name, "token id \(token) is outside the vocabulary") }
                let row = UnsafeRawBufferPointer(rebasing: all[(Int(token) * rowBytes)..<((Int(token) + 1) * rowBytes)])
                do {
                    try ElementCodec.decode(tensor.type, row, into: UnsafeMutableBufferPointer(rebasing: buffer[(t * dim)..<((t + 1) * dim)]))
                } catch let error as FormatError { throw CheckpointError(file: checkpoint.name, "token_embd.weight: \(error.message)") }
            }
        }
        return out
    }

    /// Logits [tokens.count x vocab] of one sequence, positions starting at 0.
    public func logits(_ tokens: [Int32]) throws -> [Float] {
        let c = config, T = tokens.count, dim = c.dim, hd = c.headDim
        let kvDim = c.kvHeads * hd
        var x = try embed(tokens)
        var h = [Float](repeating: 0, count: T * dim)
        var q = [Float](repeating: 0, count: T * dim)
        var k = [Float](repeating: 0, count: T * kvDim)
        var v = [Float](repeating: 0, count: T * kvDim)
        var attention = [Float](repeating: 0, count: T * dim)
        var scores = [Float](repeating: 0, count: T * T)
        var gate = [Float](repeating: 0, count: T * c.ffn)
        var up = [Float](repeating: 0, count: T * c.ffn)
        // Per-head copies, contiguous for sgemm.
        var qh = [Float](repeating: 0, count: T * hd), kh = [Float](repeating: 0, count: T * hd)
        var vh = [Float](repeating: 0, count: T * hd), oh = [Float](repeating: 0, count: T * hd)
        for layer in 0..<c.layers {
            let p = "blk.\(layer)."
            let attnNorm = try weight(p + "attn_norm.weight", rows: 1, columns: dim)
            let wq = try weight(p + "attn_q.weight", rows: dim, columns: dim)
            let wk = try weight(p + "attn_k.weight", rows: kvDim, columns: dim)
            let wv = try weight(p + "attn_v.weight", rows: kvDim, columns: dim)
            let wo = try weight(p + "attn_output.weight", rows: dim, columns: dim)
            Layers.rmsNorm(x, attnNorm, &h, rows: T, dim: dim, epsilon: c.normEpsilon)
            Gemm.multiply(h, wq, into: &q, m: T, n: dim, k: dim, transposeB: true)
            Gemm.multiply(h, wk, into: &k, m: T, n: kvDim, k: dim, transposeB: true)
            Gemm.multiply(h, wv, into: &v, m: T, n: kvDim, k: dim, transposeB: true)
            Layers.rope(&q, rows: T, heads: c.heads, headDim: hd, base: c.ropeBase)
            Layers.rope(&k, rows: T, heads: c.kvHeads, headDim: hd, base: c.ropeBase)
            let scale = 1 / Float(hd).squareRoot()
            for head in 0..<c.heads {
                let kvHead = head / (c.heads / c.kvHeads)
                for t in 0..<T {
                    for d in 0..<hd {
                        qh[t * hd + d] = q[(t * c.heads + head) * hd + d]
                        kh[t * hd + d] = k[(t * c.kvHeads + kvHead) * hd + d]
                        vh[t * hd + d] = v[(t * c.kvHeads + kvHead) * hd + d]
                    }
                }
                Gemm.multiply(qh, kh, into: &scores, m: T, n: T, k: hd, transposeB: true, alpha: scale)
                Layers.causalSoftmax(&scores, rows: T, columns: T)
                Gemm.multiply(scores, vh, into: &oh, m: T, n: hd, k: T)
                for t in 0..<T {
                    for d in 0..<hd { attention[(t * c.heads + head) * hd + d] = oh[t * hd + d] }
                }
            }
            Gemm.multiply(attention, wo, into: &x, m: T, n: dim, k: dim, transposeB: true, beta: 1)

            let ffnNorm = try weight(p + "ffn_norm.weight", rows: 1, columns: dim)
            let wg = try weight(p + "ffn_gate.weight", rows: c.ffn, columns: dim)
            let wu = try weight(p + "ffn_up.weight", rows: c.ffn, columns: dim)
            let wd = try weight(p + "ffn_down.weight", rows: dim, columns: c.ffn)
            Layers.rmsNorm(x, ffnNorm, &h, rows: T, dim: dim, epsilon: c.normEpsilon)
            Gemm.multiply(h, wg, into: &gate, m: T, n: c.ffn, k: dim, transposeB: true)
            Gemm.multiply(h, wu, into: &up, m: T, n: c.ffn, k: dim, transposeB: true)
            Layers.swiGLU(&gate, up, count: T * c.ffn)
            Gemm.multiply(gate, wd, into: &x, m: T, n: dim, k: c.ffn, transposeB: true, beta: 1)
        }
        let outputNorm = try weight("output_norm.weight", rows: 1, columns: dim)
        Layers.rmsNorm(x, outputNorm, &h, rows: T, dim: dim, epsilon: c.normEpsilon)
        var logits = [Float](repeating: 0, count: T * c.vocab)
        Gemm.multiply(h, outputHead, into: &logits, m: T, n: c.vocab, k: dim, transposeB: true)
        return logits
    }
}
