/// Where a LLaMA-family checkpoint keeps each weight: llama.cpp's GGUF names or Hugging Face's.
public enum LlamaTensorNames: Sendable {
    /// `token_embd.weight`, `blk.N.attn_q.weight`, ... (llama.cpp).
    case gguf
    /// `model.embed_tokens.weight`, `model.layers.N.self_attn.q_proj.weight`, ... (transformers).
    case huggingFace

    /// The weights of one decoder block.
    public enum LayerWeight: CaseIterable, Sendable {
        case attentionNorm, query, key, value, attentionOutput, ffnNorm, gate, up, down
    }

    /// The naming a checkpoint uses, told by its embedding tensor; nil when it has neither.
    public static func detect(_ names: Set<String>) -> LlamaTensorNames? {
        if names.contains(LlamaTensorNames.gguf.embedding) { return .gguf }
        if names.contains(LlamaTensorNames.huggingFace.embedding) { return .huggingFace }
        return nil
    }

    public var embedding: String { self == .gguf ? "token_embd.weight" : "model.embed_tokens.weight" }
    public var outputNorm: String { self == .gguf ? "output_norm.weight" : "model.norm.weight" }
    /// The output head; absent when it is tied to the embedding.
    public var output: String { self == .gguf ? "output.weight" : "lm_head.weight" }

    public func name(_ weight: LayerWeight, layer: Int) -> String {
        switch self {
        case .gguf:
            let suffix: String
            switch weight {
            case .attentionNorm: suffix = "attn_norm"
            case .query: suffix = "attn_q"
            case .key: suffix = "attn_k"
            case .value: suffix = "attn_v"
            case .attentionOutput: suffix = "attn_output"
            case .ffnNorm: suffix = "ffn_norm"
            case .gate: suffix = "ffn_gate"
            case .up: suffix = "ffn_up"
            case .down: suffix = "ffn_down"
            }
            return "blk.\(layer).\(suffix).weight"
        case .huggingFace:
            let suffix: String
            switch weight {
            case .attentionNorm: suffix = "input_layernorm"
            case .query: suffix = "self_attn.q_proj"
            case .key: suffix = "self_attn.k_proj"
            case .value: suffix = "self_attn.v_proj"
            case .attentionOutput: suffix = "self_attn.o_proj"
            case .ffnNorm: suffix = "post_attention_layernorm"
            case .gate: suffix = "mlp.gate_proj"
            case .up: suffix = "mlp.up_proj"
            case .down: suffix = "mlp.down_proj"
            }
            return "model.layers.\(layer).\(suffix).weight"
        }
    }
}
