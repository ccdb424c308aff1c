"""Writes what llama.cpp (PyPI llama-cpp-python) computes for a short text with a GGUF model, for the
engine's tests to compare against without llama.cpp: the window's token ids, and for every 8th position
the top 5 logits (id and value) and the log-sum-exp of the row; then the perplexity of the window with
llama.cpp's convention (second half scored). JSON on standard output.

usage: make_model_fixture.py MODEL.gguf TEXT CTX
"""
import json
import math
import sys

import llama_cpp
import numpy as np

model, text_path, ctx = sys.argv[1], sys.argv[2], int(sys.argv[3])
llm = llama_cpp.Llama(model_path=model, n_ctx=ctx, n_batch=ctx, logits_all=True, verbose=False, n_threads=2)
tokens = llm.tokenize(open(text_path, "rb").read(), add_bos=False, special=False)[:ctx]
llm.reset()
llm.eval(tokens)
logits = np.array(llm.scores[:ctx], dtype=np.float64)
rows = []
for position in range(0, ctx, 8):
    row = logits[position]
    top = np.argsort(-row)[:5]
    peak = row.max()
    rows.append({"position": position, "top": [[int(i), float(row[i])] for i in top],
                 "logsumexp": float(peak + math.log(np.exp(row - peak).sum()))})
nll = []
for i in range(ctx // 2, ctx - 1):
    row = logits[i]
    peak = row.max()
    nll.append(peak + math.log(np.exp(row - peak).sum()) - row[tokens[i + 1]])
print(json.dumps({"ctx": ctx, "tokens": tokens, "rows": rows, "ppl": math.exp(sum(nll) / len(nll))}))
