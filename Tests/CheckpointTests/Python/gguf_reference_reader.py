"""Reads a GGUF file with gguf-py's GGUFReader and prints what it sees as JSON: metadata (key, value
type, value) and tensors (name, type name, shape in row-major order, the data bytes in hex).

usage: gguf_reference_reader.py FILE.gguf
"""
import json
import sys
import gguf

reader = gguf.GGUFReader(sys.argv[1])


def value(field):
    types = field.types
    if not types:
        return None
    if types[0] == gguf.GGUFValueType.ARRAY:
        return {"array_of": types[-1].name, "length": len(field.data)}
    if types[0] == gguf.GGUFValueType.STRING:
        return bytes(field.parts[field.data[0]]).decode("utf-8")
    return field.parts[field.data[0]].tolist()[0]


out = {
    "metadata": [[f.name, f.types[0].name if f.types else None, value(f)] for f in reader.fields.values()
                 if not f.name.startswith("GGUF.")],
    "tensors": [[t.name, t.tensor_type.name, [int(x) for x in reversed(t.shape.tolist())],
                 bytes(t.data.tobytes()).hex()] for t in reader.tensors],
}
print(json.dumps(out))
