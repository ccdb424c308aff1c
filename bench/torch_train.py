"""PyTorch's side of the training-speed benchmark: the same LLaMA-style model as `floratrain --config
small` (byte vocabulary, untied head, RMSNorm, rotate-half RoPE, SwiGLU, no biases), the same batch and
window length, AdamW, float32 on the CPU with THREADS threads. Prints milliseconds per step (median of
the steps after a warmup) and tokens per second.

usage: torch_train.py STEPS THREADS [DIM LAYERS HEADS FFN BATCH CTX]
"""
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

steps, threads = int(sys.argv[1]), int(sys.argv[2])
dim, layers, heads, ffn, batch, ctx = (int(x) for x in (sys.argv[3:9] if len(sys.argv) > 3 else (256, 4, 4, 688, 8, 128)))
torch.set_num_threads(threads)
torch.manual_seed(7)
vocab, hd = 256, dim // heads


def rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.n1, self.n2 = torch.nn.RMSNorm(dim, eps=1e-5), torch.nn.RMSNorm(dim, eps=1e-5)
        self.qkv = torch.nn.Linear(dim, 3 * dim, bias=False)
        self.o = torch.nn.Linear(dim, dim, bias=False)
        self.gate_up = torch.nn.Linear(dim, 2 * ffn, bias=False)
        self.down = torch.nn.Linear(ffn, dim, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.n1(x)).view(b, t, 3, heads, hd).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(rope(q, cos, sin), rope(k, cos, sin), v, is_causal=True)
        x = x + self.o(a.transpose(1, 2).reshape(b, t, dim))
        g, u = self.gate_up(self.n2(x)).chunk(2, dim=-1)
        return x + self.down(F.silu(g) * u)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)
        self.blocks = torch.nn.ModuleList(Block() for _ in range(layers))
        self.norm = torch.nn.RMSNorm(dim, eps=1e-5)
        self.head = torch.nn.Linear(dim, vocab, bias=False)
        inv = 10000.0 ** (-torch.arange(0, hd, 2).float() / hd)
        angles = torch.outer(torch.arange(ctx).float(), inv)
        self.register_buffer("cos", torch.cat((angles.cos(), angles.cos()), -1))
        self.register_buffer("sin", torch.cat((angles.sin(), angles.sin()), -1))

    def forward(self, tokens):
        x = self.embed(tokens)
        for block in self.blocks:
            x = block(x, self.cos, self.sin)
        return self.head(self.norm(x))


model = Model()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
data = torch.randint(0, vocab, (steps + 3, batch, ctx + 1))
times = []
for step in range(steps + 3):
    start = time.perf_counter()
    logits = model(data[step, :, :-1])
    loss = F.cross_entropy(logits.reshape(-1, vocab), data[step, :, 1:].reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    times.append(time.perf_counter() - start)
ms = statistics.median(times[3:]) * 1000
print(f"{ms:.1f}\t{batch * ctx / ms * 1000:.0f}")
