"""Writes a GGUF file with gguf-py (the reference writer): every block type with random blocks, and
metadata of every value type, plus the reference dequantisation of each tensor as raw float32.

usage: gguf_reference_writer.py OUT.gguf OUT_DIR
"""
import sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize

# Byte ranges of the f16 scale fields in each block (kept finite so that comparisons are about the codes).
SCALE_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}

out_path, out_dir = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(1234)
writer = gguf.GGUFWriter(out_path, "llama")
writer.add_uint8("test.u8", 200)
writer.add_int8("test.i8", -5)
writer.add_uint16("test.u16", 60000)
writer.add_int16("test.i16", -300)
writer.add_uint32("test.u32", 4000000000)
writer.add_int32("test.i32", -7)
writer.add_float32("test.f32", 0.1)
writer.add_bool("test.bool", True)
writer.add_uint64("test.u64", 1 << 60)
writer.add_int64("test.i64", -(1 << 60))
writer.add_float64("test.f64", 1e-300)
writer.add_string("test.string", "héllo")
writer.add_array("test.strings", ["a", "ü", ""])
writer.add_array("test.ints", [1, 2, 3])
writer.add_array("test.nested", [[1, 2], [3]])

for qtype, fields in SCALE_FIELDS.items():
    block_elements, block_bytes = gguf.GGML_QUANT_SIZES[qtype]
    rows, blocks_per_row = 3, 2
    raw = rng.integers(0, 256, size=(rows * blocks_per_row, block_bytes), dtype=np.uint8)
    for offset in fields:
        scales = rng.uniform(-1, 1, size=rows * blocks_per_row).astype(np.float16)
        raw[:, offset:offset + 2] = scales.view(np.uint8).reshape(-1, 2)
    raw = raw.reshape(rows, blocks_per_row * block_bytes)
    name = "t_" + qtype.name
    writer.add_tensor(name, raw, raw_dtype=qtype)  # the byte shape; gguf-py derives the element shape
    dequantize(raw, qtype).astype(np.float32).tofile(f"{out_dir}/{name}.f32")

plain = rng.standard_normal((4, 8)).astype(np.float32)
writer.add_tensor("t_F32", plain)
writer.add_tensor("t_F16", plain.astype(np.float16))
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
