"""Times ZipNN (PyPI zipnn, its bytes API) on the same bytes as nzip: prints one TSV line: name, percent
of original, compress MB/s, decompress MB/s. Best of seven runs each; the file is read once, before
any timing (as neuzip-bench maps it once).

usage: zipnn_bench.py FILE DTYPE THREADS      (DTYPE: float32 | bfloat16 | float16)
"""
import sys
import time

from zipnn import ZipNN

path, dtype, threads = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = open(path, "rb").read()


def best(fn, runs=7):
    times = []
    result = None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


codec = ZipNN(input_format="byte", bytearray_dtype=dtype, threads=threads)
# ZipNN changes the buffer it compresses, so each run gets a fresh copy, made outside the timing.
t_c = float("inf")
for _ in range(7):
    buffer = bytearray(data)
    start = time.perf_counter()
    packed = codec.compress(buffer)
    t_c = min(t_c, time.perf_counter() - start)
t_d, restored = best(lambda: codec.decompress(packed))
assert bytes(restored) == data, "ZipNN did not round-trip"
mb = len(data) / 1e6
print(f"zipnn\t{100 * len(packed) / len(data):.2f}\t{mb / t_c:.0f}\t{mb / t_d:.0f}")
