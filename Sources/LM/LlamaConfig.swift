import Checkpoint

/// The shape of a LLaMA-family decoder, read from GGUF metadata (`llama.*` keys).
public struct LlamaConfig: Sendable, Equatable {
    public var layers: Int
    public var dim: Int
    public var ffn: Int
    public var heads: Int
    public var kvHeads: Int
    public var vocab: Int
    public var ropeBase: Float
    public var normEpsilon: Float
    public var contextLength: Int

    public var headDim: Int { dim / heads }

    public init(layers: Int, dim: Int, ffn: Int, heads: Int, kvHeads: Int, vocab: Int,
                ropeBase: Float = 10000, normEpsilon: Float = 1e-5, contextLength: Int = 2048) {
        self.layers = layers
        self.dim = dim
        self.ffn = ffn
        self.heads = heads
        self.kvHeads = kvHeads
        self.vocab = vocab
        self.ropeBase = ropeBase
        self.normEpsilon = normEpsilon
        self.contextLength = contextLength
    }

    /// The configuration in a GGUF header whose `general.architecture` is `llama`.
    public init(gguf header: GGUFHeader, name: String) throws {
        guard let architecture = header["general.architecture"]?.stringValue, architecture == "llama" else {
            throw CheckpointError(file: name, "architecture '\(header["general.architecture"]?.stringValue ?? "none")' is not llama")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = header["llama." + key]?.integerValue, value > 0 else { throw CheckpointError(file: name, "metadata llama.\(key) is missing") }
            return value
        }
        let heads = try integer("attention.head_count")
        let vocab: Int
        if let explicit = header["llama.vocab_size"]?.integerValue {
            vocab = explicit
        } else if case .array(_, let tokens)? = header["tokenizer.ggml.tokens"] {
            vocab = tokens.count
        } else {
            throw CheckpointError(file: name, "cannot tell the vocabulary size")
        }
        self.init(layers: try integer("block_count"), dim: try integer("embedding_length"), ffn: try integer("feed_forward_length"),
                  heads: heads, kvHeads: header["llama.attention.head_count_kv"]?.integerValue ?? heads, vocab: vocab,
                  ropeBase: Float(header["llama.rope.freq_base"]?.doubleValue ?? 10000),
                  normEpsilon: Float(header["llama.attention.layer_norm_rms_epsilon"]?.doubleValue ?? 1e-5),
                  contextLength: header["llama.context_length"]?.integerValue ?? 2048)
        guard dim % heads == 0, heads % kvHeads == 0, headDim % 2 == 0 else {
            throw CheckpointError(file: name, "inconsistent attention shape: dim \(dim), \(heads) heads, \(kvHeads) KV heads")
        }
    }
}
