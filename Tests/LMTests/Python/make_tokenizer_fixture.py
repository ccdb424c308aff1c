"""Writes the token ids that llama.cpp (PyPI llama-cpp-python) gives a text with a GGUF vocabulary,
one id per line: the reference our tokenizer must match. Run by hand when the fixture text changes:

usage: make_tokenizer_fixture.py MODEL.gguf TEXT OUT
"""
import sys
import llama_cpp

model, text_path, out_path = sys.argv[1:4]
vocab = llama_cpp.Llama(model_path=model, vocab_only=True, verbose=False)
text = open(text_path, "rb").read()
ids = vocab.tokenize(text, add_bos=False, special=False)
with open(out_path, "w") as out:
    out.write("\n".join(str(i) for i in ids) + "\n")
