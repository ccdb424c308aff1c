"""Prints, as one JSON list, the token ids that Hugging Face's tokenizers library (PyPI `tokenizers`)
gives a text with a tokenizer.json: the reference for our tokenizer.json reader.

usage: hf_tokenize.py TOKENIZER_JSON TEXT
"""
import json
import sys

from tokenizers import Tokenizer

tokenizer = Tokenizer.from_file(sys.argv[1])
text = open(sys.argv[2], encoding="utf-8", newline="").read()
print(json.dumps(tokenizer.encode(text, add_special_tokens=True).ids))
