"""Loss and gradients that PyTorch (transformers' LlamaForCausalLM, float64 on the CPU) computes for a
Hugging Face checkpoint folder: the mean cross-entropy of the given next-token targets, and the gradient
of every parameter by name. Input on standard input: {"inputs": [[ids]], "targets": [[ids]]}.

usage: torch_gradients.py MODEL_DIR < batch.json
"""
import json
import sys

import torch
import torch.nn.functional as F
from transformers import LlamaForCausalLM

batch = json.load(sys.stdin)
model = LlamaForCausalLM.from_pretrained(sys.argv[1], torch_dtype=torch.float64, attn_implementation="eager")
logits = model(torch.tensor(batch["inputs"])).logits
loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.tensor(batch["targets"]).reshape(-1))
loss.backward()
gradients = {name: p.grad.reshape(-1).tolist() for name, p in model.named_parameters()}
print(json.dumps({"loss": loss.item(), "gradients": gradients}))
