"""Cross-checks with the reference safetensors package.

usage: safetensors_reference.py write OUT.safetensors   (numpy dtypes, metadata; the reference writer)
       safetensors_reference.py read FILE.safetensors   (prints JSON: name -> [dtype, shape, data hex])
"""
import json
import sys
import numpy as np
import safetensors
from safetensors.numpy import save_file

if sys.argv[1] == "write":
    rng = np.random.default_rng(7)
    tensors = {
        "f64": rng.standard_normal((2, 3)), "f32": rng.standard_normal((3, 5)).astype(np.float32),
        "f16": rng.standard_normal((7,)).astype(np.float16), "i8": np.arange(-4, 4, dtype=np.int8),
        "i16": np.arange(-3, 3, dtype=np.int16), "i32": np.arange(5, dtype=np.int32), "i64": np.arange(3, dtype=np.int64),
        "u8": np.arange(6, dtype=np.uint8), "u16": np.arange(4, dtype=np.uint16), "u32": np.arange(2, dtype=np.uint32),
        "u64": np.arange(2, dtype=np.uint64), "bool": np.array([True, False, True]), "empty": np.zeros((0, 4), np.float32),
        "scalar": np.array(3.5, dtype=np.float32),
    }
    save_file(tensors, sys.argv[2], metadata={"format": "np", "note": "ü"})
    print(json.dumps({k: [float(x) for x in np.asarray(v, dtype=np.float64).ravel()] for k, v in tensors.items()}))
else:
    data = open(sys.argv[2], "rb").read()
    result = {}
    for name, spec in safetensors.deserialize(data):
        result[name] = [spec["dtype"], list(spec["shape"]), bytes(spec["data"]).hex()]
    print(json.dumps(result))
