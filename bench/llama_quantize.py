"""llama.cpp's own quantizer (PyPI llama-cpp-python's llama_model_quantize) on a float GGUF: the
reference invarq's GGUF output is compared with. Prints the seconds it took.

usage: llama_quantize.py SOURCE.gguf OUT.gguf TYPE THREADS   (TYPE: q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k_s, q4_k_s, q6_k)
"""
import sys
import time

import llama_cpp

source, out, kind, threads = sys.argv[1], sys.argv[2], sys.argv[3].upper(), int(sys.argv[4])
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{kind}")
params.nthread = threads
start = time.perf_counter()
status = llama_cpp.llama_model_quantize(source.encode(), out.encode(), params)
if status != 0:
    sys.exit(f"llama_model_quantize failed with status {status}")
print(f"{time.perf_counter() - start:.2f}")
