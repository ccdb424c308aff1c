import Checkpoint

/// The shape of a LLaMA-family decoder, read from GGUF metadata (`llama.*` keys) or from a Hugging Face
/// `config.json` (`LlamaForCausalLM`).
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
    /// The RoPE pairing the checkpoint's Q and K weights were trained with.
    public var ropeStyle: Layers.RopeStyle

    public var headDim: Int { dim / heads }

    public init(layers: Int, dim: Int, ffn: Int, heads: Int, kvHeads: Int, vocab: Int,
                ropeBase: Float = 10000, normEpsilon: Float = 1e-5, contextLength: Int = 2048,
                ropeStyle: Layers.RopeStyle = .adjacentPairs) {
        self.layers = layers
        self.dim = dim
        self.ffn = ffn
        self.heads = heads
        self.kvHeads = kvHeads
        self.vocab = vocab
        self.ropeBase = ropeBase
        self.normEpsilon = normEpsilon
        self.contextLength = contextLength
        self.ropeStyle = ropeStyle
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
                  contextLength: header["llama.context_length"]?.integerValue ?? 2048, ropeStyle: .adjacentPairs)
        try validate(name: name)
    }

    /// The configuration in a Hugging Face `config.json` (model_type `llama`, or any model type with
    /// the same keys, such as `mistral` without sliding windows). `name` is the file for errors.
    public init(huggingFace json: JSONValue, name: String) throws {
        guard case .object = json else { throw CheckpointError(file: name, "is a JSON \(json.kindName), not an object") }
        if let type = json["model_type"], case .string(let value) = type, value != "llama" {
            throw CheckpointError(file: name, "model_type '\(value)' is not llama")
        }
        func integer(_ key: String) throws -> Int {
            guard let value = json[key]?.nonNegativeInteger, value > 0 else { throw CheckpointError(file: name, "\(key) is missing or not a positive integer") }
            return value
        }
        func real(_ key: String, _ fallback: Float) throws -> Float {
            guard let value = json[key] else { return fallback }
            guard case .number(let text) = value, let number = Float(text), number > 0 else {
                throw CheckpointError(file: name, "\(key) is not a positive number")
            }
            return number
        }
        if let scaling = json["rope_scaling"], scaling != .null {
            throw CheckpointError(file: name, "rope_scaling is not supported")
        }
        let heads = try integer("num_attention_heads")
        self.init(layers: try integer("num_hidden_layers"), dim: try integer("hidden_size"), ffn: try integer("intermediate_size"),
                  heads: heads, kvHeads: json["num_key_value_heads"]?.nonNegativeInteger ?? heads, vocab: try integer("vocab_size"),
                  ropeBase: try real("rope_theta", 10000), normEpsilon: try real("rms_norm_eps", 1e-6),
                  contextLength: json["max_position_embeddings"]?.nonNegativeInteger ?? 2048, ropeStyle: .rotateHalf)
        try validate(name: name)
    }

    /// The configuration as a Hugging Face config.json (what trainers store in `__metadata__.config`),
    /// with `extra` members appended (a quantizer's quantization_config).
    public func huggingFaceJSON(tied: Bool, extra: [(String, JSONValue)] = []) -> String {
        let members: [(String, JSONValue)] = [
            ("architectures", .array([.string("LlamaForCausalLM")])), ("model_type", .string("llama")),
            ("hidden_size", .number(String(dim))), ("intermediate_size", .number(String(ffn))),
            ("num_attention_heads", .number(String(heads))), ("num_key_value_heads", .number(String(kvHeads))),
            ("num_hidden_layers", .number(String(layers))), ("vocab_size", .number(String(vocab))),
            ("rms_norm_eps", .number("\(normEpsilon)")), ("rope_theta", .number("\(ropeBase)")),
            ("max_position_embeddings", .number(String(contextLength))), ("tie_word_embeddings", .bool(tied)),
            ("hidden_act", .string("silu")), ("torch_dtype", .string("float32")),
        ]
        return JSONWriter.string(.object(members + extra))
    }

    private func validate(name: String) throws {
        guard kvHeads > 0, dim % heads == 0, heads % kvHeads == 0, headDim % 2 == 0 else {
            throw CheckpointError(file: name, "inconsistent attention shape: dim \(dim), \(heads) heads, \(kvHeads) KV heads")
        }
    }
}
