"""Prints what Hugging Face transformers (PyPI transformers + torch, on the CPU, in float32) computes
for a token sequence with a checkpoint folder: for every 8th position the top 5 logits (id and value)
and the row's log-sum-exp, and the perplexity of the second half (llama.cpp's convention). The same JSON
layout as make_model_fixture.py. Token ids come as one JSON list on standard input.

usage: transformers_logits.py MODEL_DIR < ids.json
"""
import json
import math
import sys

import torch
from transformers import LlamaForCausalLM

tokens = json.load(sys.stdin)
torch.set_num_threads(2)
model = LlamaForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float32)
model.eval()
with torch.no_grad():
    logits = model(torch.tensor([tokens])).logits[0].double()
rows = []
for position in range(0, len(tokens), 8):
    row = logits[position]
    top = torch.argsort(-row)[:5]
    rows.append({"position": position, "top": [[int(i), float(row[i])] for i in top],
                 "logsumexp": float(torch.logsumexp(row, 0))})
nll = [float(torch.logsumexp(logits[i], 0) - logits[i][tokens[i + 1]]) for i in range(len(tokens) // 2, len(tokens) - 1)]
print(json.dumps({"ctx": len(tokens), "tokens": tokens, "rows": rows, "ppl": math.exp(sum(nll) / len(nll))}))
