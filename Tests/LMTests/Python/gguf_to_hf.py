"""Converts a llama.cpp GGUF model (architecture llama) into a Hugging Face checkpoint: tensors
dequantised by gguf-py to F32 under transformers' names, Q and K rows reordered from llama.cpp's
adjacent-pair RoPE back to Hugging Face's rotate-half, and config.json. The reference the engine's
Hugging Face path is checked against (written independently of the engine's own code).

usage: gguf_to_hf.py MODEL.gguf OUTDIR
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize
from safetensors.numpy import save_file

model, out = sys.argv[1], sys.argv[2]
reader = GGUFReader(model)


def field(name):
    f = reader.fields[name]
    value = f.parts[f.data[0]]
    return value.tobytes().decode() if f.types[0].name == "STRING" else value[0].item()


heads = field("llama.attention.head_count")
kv_heads = field("llama.attention.head_count_kv")
dim = field("llama.embedding_length")
head_dim = dim // heads
names = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head",
         "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
         "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
         "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}


def unpermute(w, n_heads):
    # llama.cpp's row order per head is (pair i, element j) -> 2i + j; Hugging Face's is j * hd/2 + i.
    return w.reshape(n_heads, head_dim // 2, 2, -1).swapaxes(1, 2).reshape(w.shape)


tensors = {}
for t in reader.tensors:
    shape = tuple(int(x) for x in reversed(t.shape.tolist()))
    w = dequantize(t.data, t.tensor_type).astype(np.float32).reshape(shape)
    parts = t.name.split(".")
    if parts[0] == "blk":
        if parts[2] == "attn_q":
            w = unpermute(w, heads)
        elif parts[2] == "attn_k":
            w = unpermute(w, kv_heads)
        name = f"model.layers.{parts[1]}.{names[parts[2]]}.weight"
    else:
        name = names[parts[0]] + ".weight"
    tensors[name] = np.ascontiguousarray(w)

os.makedirs(out, exist_ok=True)
save_file(tensors, os.path.join(out, "model.safetensors"))
vocab = len(reader.fields["tokenizer.ggml.tokens"].data)
config = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": dim,
          "intermediate_size": field("llama.feed_forward_length"), "num_attention_heads": heads,
          "num_key_value_heads": kv_heads, "num_hidden_layers": field("llama.block_count"), "vocab_size": vocab,
          "rms_norm_eps": field("llama.attention.layer_norm_rms_epsilon"), "rope_theta": field("llama.rope.freq_base"),
          "max_position_embeddings": field("llama.context_length"), "tie_word_embeddings": "lm_head.weight" not in tensors,
          "hidden_act": "silu", "torch_dtype": "float32"}
with open(os.path.join(out, "config.json"), "w") as f:
    json.dump(config, f, indent=1)
