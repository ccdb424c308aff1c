import Checkpoint
import Kernels

/// A LLaMA-family decoder over a checkpoint with llama.cpp's (GGUF) or Hugging Face's tensor names.
/// Weights stay in the checkpoint's own types and are expanded to Float one layer at a time when used,
/// so memory holds one layer's matrices plus the activations, not the expanded model. A batch of
/// sequences goes through each layer together, so a layer is expanded once per batch.
public final class LlamaModel {
    public let config: LlamaConfig
    public let names: LlamaTensorNames
    /// Where forward passes spent their time so far.
    public private(set) var profile = EngineProfile()
    private let checkpoint: Checkpoint
    private let embedding: Int
    /// The output head (the token embedding when tied), expanded once: every window needs all of it.
    private let outputHead: [Float]

    /// The model in `checkpoint` with shape `config`; the tensor names tell GGUF from Hugging Face.
    public init(_ checkpoint: Checkpoint, config: LlamaConfig) throws {
        guard checkpoint.isRandomAccess else {
            throw CheckpointError(file: checkpoint.name, "the model must be a file, not a pipe")
        }
        guard let names = LlamaTensorNames.detect(Set(checkpoint.tensors.map(\.name))) else {
            throw CheckpointError(file: checkpoint.name, "has no token embedding (token_embd.weight or model.embed_tokens.weight): not a LLaMA-family model")
        }
        self.config = config
        self.names = names
        self.checkpoint = checkpoint
        embedding = checkpoint.index(of: names.embedding)!
        let head = checkpoint.index(of: names.output) != nil ? names.output : names.embedding
        outputHead = try Self.matrix(checkpoint, head, rows: config.vocab, columns: config.dim)
    }

    /// A GGUF model, configured by its metadata.
    public convenience init(_ checkpoint: Checkpoint) throws {
        guard let header = checkpoint.ggufHeader else {
            throw CheckpointError(file: checkpoint.name, "has no GGUF metadata to configure the model from")
        }
        try self.init(checkpoint, config: LlamaConfig(gguf: header, name: checkpoint.name))
    }

    /// Weight `name` as Float (a tensor or a GPTQ layer), checked to be [rows, columns] (or [columns]
    /// when rows is 1).
    private static func matrix(_ checkpoint: Checkpoint, _ name: String, rows: Int, columns: Int) throws -> [Float] {
        if let index = checkpoint.index(of: name) {
            let tensor = checkpoint.tensors[index]
            guard tensor.elementCount == rows * columns, tensor.shape.last == columns || rows == 1 else {
                throw CheckpointError(file: checkpoint.name, "tensor '\(name)' has shape \(tensor.shape), expected [\(rows), \(columns)]")
            }
        }
        guard let values = try checkpoint.floats(named: name) else { throw CheckpointError(file: checkpoint.name, "tensor \(name) is missing") }
        guard values.count == rows * columns else {
            throw CheckpointError(file: checkpoint.name, "layer '\(name)' has \(values.count) values, expected [\(rows), \(columns)]")
        }
        return values
    }

    /// The shape [rows, columns] of a block's weight.
    private func shape(_ weight: LlamaTensorNames.LayerWeight) -> (rows: Int, columns: Int) {
        let c = config, kvDim = c.kvHeads * c.headDim
        switch weight {
        case .attentionNorm, .ffnNorm: return (1, c.dim)
        case .query, .attentionOutput: return (c.dim, c.dim)
        case .key, .value: return (kvDim, c.dim)
        case .gate, .up: return (c.ffn, c.dim)
        case .down: return (c.dim, c.ffn)
        }
    }

    /// Block `layer`'s weights expanded to Float.
    private func layerWeights(_ layer: Int) throws -> [LlamaTensorNames.LayerWeight: [Float]] {
        var out: [LlamaTensorNames.LayerWeight: [Float]] = [:]
        for weight in LlamaTensorNames.LayerWeight.allCases {
            let (rows, columns) = shape(weight)
            out[weight] = try Self.matrix(checkpoint, names.name(weight, layer: layer), rows: rows, columns: columns)
        }
        return out
    }

    /// Embedding rows of `tokens`, decoding only those rows, into `out`.
    private func embed(_ tokens: [Int32], into out: UnsafeMutablePointer<Float>) throws {
        let tensor = checkpoint.tensors[embedding]
        let dim = config.dim
        guard tensor.elementCount == config.vocab * dim, let rowBytes = tensor.type.byteCount(elements: dim) else {
            throw CheckpointError(file: checkpoint.name, "\(tensor.name) has shape \(tensor.shape), expected [\(config.vocab), \(dim)] in whole blocks")
        }
        let all = try checkpoint.bytes(of: embedding)
        for (t, token) in tokens.enumerated() {
            guard token >= 0 && Int(token) < config.vocab else { throw CheckpointError(file: checkpoint.name, "token id \(token) is outside the vocabulary") }
            let row = UnsafeRawBufferPointer(rebasing: all[(Int(token) * rowBytes)..<((Int(token) + 1) * rowBytes)])
            do {
                try ElementCodec.decode(tensor.type, row, into: UnsafeMutableBufferPointer(start: out + t * dim, count: dim))
            } catch let error as FormatError { throw CheckpointError(file: checkpoint.name, "\(tensor.name): \(error.message)") }
        }
    }

    /// Logits [tokens.count x vocab] of one sequence, positions starting at 0.
    public func logits(_ tokens: [Int32]) throws -> [Float] {
        var out: [Float] = []
        try forward([tokens], logitsFrom: 0) { _, rows in out = Array(rows) }
        return out
    }

    /// Runs a batch of sequences of equal length T, positions starting at 0, and hands `body` each
    /// sequence's logits for positions first..<T ([(T - first) x vocab], valid during the call only).
    /// Only those rows go through the output head.
    public func forward(_ batch: [[Int32]], logitsFrom first: Int,
                        _ body: (_ sequence: Int, _ logits: UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard let T = batch.first?.count, T > 0, batch.allSatisfy({ $0.count == T }) else {
            precondition(batch.isEmpty, "sequences of a batch must have equal, non-zero lengths")
            return
        }
        precondition((0..<T).contains(first), "first scored position outside the sequence")
        let c = config, dim = c.dim, hd = c.headDim, kvDim = c.kvHeads * hd
        let rows = batch.count * T, scored = T - first
        let buffers = ScratchBuffers([rows * dim, rows * dim, rows * dim, rows * kvDim, rows * kvDim, rows * dim,
                                      rows * c.ffn, rows * c.ffn, batch.count * Layers.attentionScratchCount(positions: T), scored * c.vocab])
        defer { buffers.release() }
        let (x, h, q, k, v, attention) = (buffers[0], buffers[1], buffers[2], buffers[3], buffers[4], buffers[5])
        let (gate, up, scratch, logits) = (buffers[6], buffers[7], buffers[8], buffers[9])
        try profile.measure(\.dequantization) {
            for (s, tokens) in batch.enumerated() { try embed(tokens, into: x + s * T * dim) }
        }
        for layer in 0..<c.layers {
            let w = try profile.measure(\.dequantization) { try layerWeights(layer) }
            profile.measure(\.other) { Layers.rmsNorm(x, w[.attentionNorm]!, h, rows: rows, dim: dim, epsilon: c.normEpsilon) }
            profile.measure(\.matrixProducts) {
                Gemm.multiply(h, w[.query]!, into: q, m: rows, n: dim, k: dim, transposeB: true)
                Gemm.multiply(h, w[.key]!, into: k, m: rows, n: kvDim, k: dim, transposeB: true)
                Gemm.multiply(h, w[.value]!, into: v, m: rows, n: kvDim, k: dim, transposeB: true)
            }
            profile.measure(\.other) {
                for s in 0..<batch.count {
                    Layers.rope(q + s * T * dim, rows: T, heads: c.heads, headDim: hd, base: c.ropeBase, style: c.ropeStyle)
                    Layers.rope(k + s * T * kvDim, rows: T, heads: c.kvHeads, headDim: hd, base: c.ropeBase, style: c.ropeStyle)
                }
            }
            profile.measure(\.attention) {
                Gemm.parallelSmallProducts(batch.count) { s in
                    Layers.causalAttention(q: q + s * T * dim, k: k + s * T * kvDim, v: v + s * T * kvDim, out: attention + s * T * dim,
                                           positions: T, heads: c.heads, kvHeads: c.kvHeads, headDim: hd,
                                           scratch: scratch + s * Layers.attentionScratchCount(positions: T))
                }
            }
            profile.measure(\.matrixProducts) {
                Gemm.multiply(attention, w[.attentionOutput]!, into: x, m: rows, n: dim, k: dim, transposeB: true, beta: 1)
            }
            profile.measure(\.other) { Layers.rmsNorm(x, w[.ffnNorm]!, h, rows: rows, dim: dim, epsilon: c.normEpsilon) }
            profile.measure(\.matrixProducts) {
                Gemm.multiply(h, w[.gate]!, into: gate, m: rows, n: c.ffn, k: dim, transposeB: true)
                Gemm.multiply(h, w[.up]!, into: up, m: rows, n: c.ffn, k: dim, transposeB: true)
            }
            profile.measure(\.other) { Layers.swiGLU(gate, up, count: rows * c.ffn) }
            profile.measure(\.matrixProducts) {
                Gemm.multiply(gate, w[.down]!, into: x, m: rows, n: dim, k: c.ffn, transposeB: true, beta: 1)
            }
        }
        let outputNorm = try profile.measure(\.dequantization) {
            try Self.matrix(checkpoint, names.outputNorm, rows: 1, columns: dim)
        }
        for s in 0..<batch.count {
            profile.measure(\.other) {
                Layers.rmsNorm(x + (s * T + first) * dim, outputNorm, h, rows: scored, dim: dim, epsilon: c.normEpsilon)
            }
            profile.measure(\.matrixProducts) {
                Gemm.multiply(h, outputHead, into: logits, m: scored, n: c.vocab, k: dim, transposeB: true)
            }
            try body(s, UnsafeBufferPointer(start: logits, count: scored * c.vocab))
        }
    }
}
