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

    /// The name of `weight` in block `layer`.
    public func name(_ weight: LayerWeight, layer: Int) -> String {
        let (gguf, huggingFace): (String, String)
        switch weight {
        case .attentionNorm: (gguf, huggingFace) = ("attn_norm", "input_layernorm")
        case .query: (gguf, huggingFace) = ("attn_q", "self_attn.q_proj")
        case .key: (gguf, huggingFace) = ("attn_k", "self_attn.k_proj")
        case .value: (gguf, huggingFace) = ("attn_v", "self_attn.v_proj")
        case .attentionOutput: (gguf, huggingFace) = ("attn_output", "self_attn.o_proj")
        case .ffnNorm: (gguf, huggingFace) = ("ffn_norm", "post_attention_layernorm")
        case .gate: (gguf, huggingFace) = ("ffn_gate", "mlp.gate_proj")
        case .up: (gguf, huggingFace) = ("ffn_up", "mlp.up_proj")
        case .down: (gguf, huggingFace) = ("ffn_down", "mlp.down_proj")
        }
        return self == .gguf ? "blk.\(layer).\(gguf).weight" : "model.layers.\(layer).\(huggingFace).weight"
    }
}
