"""Writes a tiny random LLaMA model as an F32 GGUF with gguf-py (PyPI `gguf`), independently of our
writer: a byte-level BPE vocabulary (the 256 GPT-2 byte symbols plus two merges), so that llama.cpp
and our tools can load it.

usage: make_tiny_gguf.py OUT.gguf"""
import sys

import numpy as np
from gguf import GGUFWriter, TokenType


def byte_symbols():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    mapping, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return [mapping[b] for b in range(256)]


dim, ffn, layers, heads, kv_heads = 64, 128, 2, 4, 2
tokens = byte_symbols() + ["Ġt", "he"]
merges = ["Ġ t", "h e"]
rng = np.random.default_rng(7)
writer = GGUFWriter(sys.argv[1], "llama")
writer.add_block_count(layers)
writer.add_context_length(256)
writer.add_embedding_length(dim)
writer.add_feed_forward_length(ffn)
writer.add_head_count(heads)
writer.add_head_count_kv(kv_heads)
writer.add_rope_freq_base(10000.0)
writer.add_layer_norm_rms_eps(1e-5)
writer.add_tokenizer_model("gpt2")
writer.add_tokenizer_pre("default")
writer.add_token_list(tokens)
writer.add_token_types([TokenType.NORMAL] * len(tokens))
writer.add_token_merges(merges)
writer.add_bos_token_id(0)
writer.add_eos_token_id(1)


def matrix(rows, columns):
    return (rng.standard_normal((rows, columns)) * 0.1).astype(np.float32)


writer.add_tensor("token_embd.weight", matrix(len(tokens), dim))
for layer in range(layers):
    prefix = f"blk.{layer}."
    writer.add_tensor(prefix + "attn_norm.weight", np.ones(dim, dtype=np.float32))
    writer.add_tensor(prefix + "attn_q.weight", matrix(dim, dim))
    writer.add_tensor(prefix + "attn_k.weight", matrix(kv_heads * dim // heads, dim))
    writer.add_tensor(prefix + "attn_v.weight", matrix(kv_heads * dim // heads, dim))
    writer.add_tensor(prefix + "attn_output.weight", matrix(dim, dim))
    writer.add_tensor(prefix + "ffn_norm.weight", np.ones(dim, dtype=np.float32))
    writer.add_tensor(prefix + "ffn_gate.weight", matrix(ffn, dim))
    writer.add_tensor(prefix + "ffn_up.weight", matrix(ffn, dim))
    writer.add_tensor(prefix + "ffn_down.weight", matrix(dim, ffn))
writer.add_tensor("output_norm.weight", np.ones(dim, dtype=np.float32))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
