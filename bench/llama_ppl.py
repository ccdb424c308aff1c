"""llama.cpp's side of the perplexity benchmark (PyPI llama-cpp-python): the same GGUF model, text,
windows and scoring convention as `mstat ppl` (non-overlapping windows of CTX tokens, second half
scored), timed over the model evaluation. Prints: ppl, tokens per second, the library's CPU features.

usage: llama_ppl.py MODEL.gguf TEXT CTX WINDOWS THREADS
"""
import math
import sys
import time

import llama_cpp
import numpy as np

model, text, ctx, windows, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
llm = llama_cpp.Llama(model_path=model, n_ctx=ctx, n_batch=ctx, logits_all=True, verbose=False, n_threads=threads)
tokens = llm.tokenize(open(text, "rb").read(), add_bos=False, special=False)
windows = min(windows, len(tokens) // ctx)
nll, seconds = [], 0.0
for w in range(windows):
    window = tokens[w * ctx:(w + 1) * ctx]
    llm.reset()
    start = time.perf_counter()
    llm.eval(window)
    seconds += time.perf_counter() - start
    logits = np.array(llm.scores[:ctx], dtype=np.float64)
    for i in range(ctx // 2, ctx - 1):
        row = logits[i]
        peak = row.max()
        nll.append(peak + math.log(np.exp(row - peak).sum()) - row[window[i + 1]])
features = "AVX512" if b"AVX512 = 1" in llama_cpp.llama_print_system_info() else "AVX2"
print(f"{math.exp(sum(nll) / len(nll)):.4f}\t{windows * ctx / seconds:.1f}\t{features}")
