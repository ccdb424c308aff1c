"""Times ZipNN (PyPI zipnn, its bytes API) and zstd -3 (python zstandard if present, else skipped) on the
same bytes as nzip: prints one TSV line per method: name, percent of original, compress MB/s,
decompress MB/s. Best of seven runs each.

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
t_c, packed = best(lambda: codec.compress(bytearray(data)))
t_d, restored = best(lambda: codec.decompress(packed))
assert bytes(restored) == data, "ZipNN did not round-trip"
mb = len(data) / 1e6
print(f"zipnn\t{100 * len(packed) / len(data):.2f}\t{mb / t_c:.0f}\t{mb / t_d:.0f}")
