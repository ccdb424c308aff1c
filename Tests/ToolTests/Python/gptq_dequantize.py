"""Dequantizes every GPTQ layer of a safetensors file the way AutoGPTQ's reference code reads the
"gptq" checkpoint format, independently of our reader: qweight words hold each output column's
input codes as one little-endian bit stream, qzeros hold zero - 1, value = scale * (code - zero).
Prints, as JSON, each layer's name, bits and the largest absolute difference from the F32 weight of
the same name in a second (dequantized) file.

usage: gptq_dequantize.py GPTQ.safetensors DEQUANTIZED.safetensors"""
import json
import sys

import numpy as np
from safetensors.numpy import load_file

packed = load_file(sys.argv[1])
reference = load_file(sys.argv[2])


def unpack(words, count, bits):
    """Codes 0..count-1 from each column of a [words x columns] uint32 array, as a bit stream."""
    words = words.astype(np.uint64)
    out = np.zeros((count, words.shape[1]), dtype=np.int64)
    for k in range(count):
        bit = k * bits
        index, shift = bit // 32, bit % 32
        value = words[index] >> np.uint64(shift)
        if shift + bits > 32:
            value |= words[index + 1] << np.uint64(32 - shift)
        out[k] = (value & np.uint64((1 << bits) - 1)).astype(np.int64)
    return out


report = []
for name in sorted(k for k in packed if k.endswith(".qweight")):
    prefix = name[: -len(".qweight")]
    qweight = packed[name].view(np.uint32)
    qzeros = packed[prefix + ".qzeros"].view(np.uint32)
    scales = packed[prefix + ".scales"].astype(np.float32)
    g_idx = packed[prefix + ".g_idx"]
    inputs, outputs = g_idx.shape[0], qweight.shape[1]
    bits = qweight.shape[0] * 32 // inputs
    codes = unpack(qweight, inputs, bits)                       # [inputs, outputs]
    zeros = (unpack(qzeros.T, outputs, bits).T + 1) & ((1 << bits) - 1)  # [groups, outputs]
    weight = (codes - zeros[g_idx]).astype(np.float32) * scales[g_idx]   # [inputs, outputs]
    difference = np.abs(weight.T - reference[prefix + ".weight"]).max()
    report.append({"layer": prefix, "bits": bits, "max_difference": float(difference)})
print(json.dumps(report))
