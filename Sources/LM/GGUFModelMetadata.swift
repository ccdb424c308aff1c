import Checkpoint

/// The GGUF metadata that describes a LLaMA model to llama.cpp: the `llama.*` hyperparameters and a
/// byte-level BPE tokenizer. A byte tokenizer becomes the 256 GPT-2 byte symbols in byte order with no
/// merges, which tokenises every text into exactly the byte ids, so our byte-level models load too.
public enum GGUFModelMetadata {
    public static func make(config c: LlamaConfig, tokenizer: Tokenizer, name: String) -> [(key: String, value: GGUFValue)] {
        func count(_ n: Int) -> GGUFValue { .uint32(UInt32(n)) }
        func strings(_ values: [String]) -> GGUFValue { .array(elementType: .string, values.map { .text($0) }) }
        var metadata: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .text("llama")), ("general.name", .text(name)),
            ("llama.block_count", count(c.layers)), ("llama.context_length", count(c.contextLength)),
            ("llama.embedding_length", count(c.dim)), ("llama.feed_forward_length", count(c.ffn)),
            ("llama.attention.head_count", count(c.heads)), ("llama.attention.head_count_kv", count(c.kvHeads)),
            ("llama.rope.freq_base", .float32(bits: c.ropeBase.bitPattern)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(bits: c.normEpsilon.bitPattern)),
            ("llama.rope.dimension_count", count(c.headDim)), ("llama.vocab_size", count(c.vocab)),
        ]
        let tokens: [String], merges: [String], pre: String
        if let bpe = tokenizer as? BPETokenizer {
            (tokens, merges, pre) = (bpe.tokens, bpe.merges, bpe.preTokenizer.ggufName)
        } else {
            (tokens, merges, pre) = (ByteLevelEncoding.characters.map { String($0) }, [], PreTokenizer.gpt2.ggufName)
        }
        metadata += [
            ("tokenizer.ggml.model", .text("gpt2")), ("tokenizer.ggml.pre", .text(pre)), ("tokenizer.ggml.tokens", strings(tokens)),
            ("tokenizer.ggml.token_type", .array(elementType: .int32, [GGUFValue](repeating: .int32(1), count: tokens.count))),
            ("tokenizer.ggml.merges", strings(merges)),
        ]
        if let bos = tokenizer.bosToken {
            metadata += [("tokenizer.ggml.bos_token_id", count(Int(bos))), ("tokenizer.ggml.add_bos_token", .bool(tokenizer.addsBOS))]
        }
        return metadata
    }
}
