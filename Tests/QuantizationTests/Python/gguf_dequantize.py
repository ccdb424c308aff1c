"""Dequantizes every tensor of a GGUF file with gguf-py (PyPI `gguf`), independently of our reader,
and writes the float32 values, tensor after tensor in file order, to OUT."""
import sys

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize

reader = GGUFReader(sys.argv[1])
with open(sys.argv[2], "wb") as out:
    for tensor in reader.tensors:
        values = dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        out.write(values.tobytes())
        print(tensor.name, tensor.tensor_type.name, values.size)
