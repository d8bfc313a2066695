"""The PyTorch peer of bench/train_step and bench/context_scaling: a plain PyTorch LongLoRA
training step, as LongLoRA's fine-tune.py runs it on top of transformers + PEFT, written out so
that it needs nothing but torch:

  LLaMA block (RMSNorm, rotate-half RoPE, SwiGLU), LoRA r=8 alpha=16 on q/k/v/o (PEFT's Linear:
  y = x·Wᵀ + scale·(x·Aᵀ)·Bᵀ), trainable embeddings and norms, S²-Attn in the paper's
  roll-and-group form (Algorithm 1: half the heads rolled by −G/2, causal attention inside groups
  of G, rolled back), next-token cross-entropy over the full [T, V] logits, clip_grad_norm_(1.0),
  AdamW (torch.optim.AdamW, lr 2e-5).

Modes: --precision bf16 runs the forward under torch.autocast("cpu", bfloat16) as fine-tune.py's
bf16 training does; --precision f32 runs everything in float32. --checkpointing wraps every
decoder layer in torch.utils.checkpoint (use_reentrant=False), as gradient_checkpointing=True does.

Prints one JSON line: tokens/s over the timed steps, seconds per step, peak RSS of this process.

usage: /usr/bin/python3 longlora_step.py --context 4096 [--dim 512 --layers 8 --heads 8 --ffn 1376
       --vocab 32000 --ratio 0.25 | --group G] [--precision bf16|f32] [--checkpointing]
       [--steps 2] [--warmup 1] [--threads 2]
"""
import argparse
import contextlib
import json
import math
import resource
import time

import torch
import torch.nn.functional as F
import torch.utils.checkpoint


class RMSNorm(torch.nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):  # as transformers' LlamaRMSNorm: statistics in f32
        dtype = x.dtype
        x = x.float()
        x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * x.to(dtype)


class LoraLinear(torch.nn.Module):
    """A frozen base weight plus an optional trainable low-rank update (PEFT's lora.Linear)."""

    def __init__(self, fan_in, fan_out, rank):
        super().__init__()
        self.base = torch.nn.Linear(fan_in, fan_out, bias=False)
        self.base.weight.requires_grad_(False)
        self.rank = rank
        if rank:
            self.lora_A = torch.nn.Linear(fan_in, rank, bias=False)
            self.lora_B = torch.nn.Linear(rank, fan_out, bias=False)
            torch.nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
            torch.nn.init.zeros_(self.lora_B.weight)
            self.scale = 16.0 / rank

    def forward(self, x):
        y = self.base(x)
        if self.rank:
            y = y + self.lora_B(self.lora_A(x)) * self.scale
        return y


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def causal_attention(q, k, v):
    """q, k, v [..., n, D]: softmax(q·kᵀ/√D + causal mask)·v over the last two dims."""
    n = q.shape[-2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.ones(n, n, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores.float(), dim=-1).to(v.dtype) @ v


def s2_attention(q, k, v, group):
    """q, k, v [B, H, N, D]: LongLoRA's Algorithm 1 (shift short attention)."""
    B, H, N, D = q.shape
    if N <= group:
        return causal_attention(q, k, v)
    assert N % group == 0, "the peer needs N divisible by the group size"

    def shift(x):  # heads [H/2, H) rolled by −G/2 along the sequence, then grouped
        x = torch.cat((x[:, : H // 2], x[:, H // 2:].roll(-group // 2, dims=2)), dim=1)
        return x.reshape(B, H, N // group, group, D)

    out = causal_attention(shift(q), shift(k), shift(v)).reshape(B, H, N, D)
    return torch.cat((out[:, : H // 2], out[:, H // 2:].roll(group // 2, dims=2)), dim=1)


class DecoderLayer(torch.nn.Module):
    def __init__(self, dim, heads, ffn, rank):
        super().__init__()
        self.heads = heads
        self.input_layernorm = RMSNorm(dim)
        self.q_proj = LoraLinear(dim, dim, rank)
        self.k_proj = LoraLinear(dim, dim, rank)
        self.v_proj = LoraLinear(dim, dim, rank)
        self.o_proj = LoraLinear(dim, dim, rank)
        self.post_attention_layernorm = RMSNorm(dim)
        self.gate_proj = LoraLinear(dim, ffn, 0)
        self.up_proj = LoraLinear(dim, ffn, 0)
        self.down_proj = LoraLinear(ffn, dim, 0)

    def forward(self, x, cos, sin, group):
        B, N, C = x.shape
        H, D = self.heads, C // self.heads
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, N, H, D).transpose(1, 2)
        k = self.k_proj(h).view(B, N, H, D).transpose(1, 2)
        v = self.v_proj(h).view(B, N, H, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = s2_attention(q, k, v, group).transpose(1, 2).reshape(B, N, C)
        x = x + self.o_proj(a)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(torch.nn.Module):
    def __init__(self, dim, layers, heads, ffn, vocab, rank):
        super().__init__()
        self.heads = heads
        self.embed_tokens = torch.nn.Embedding(vocab, dim)
        self.layers = torch.nn.ModuleList(DecoderLayer(dim, heads, ffn, rank) for _ in range(layers))
        self.norm = RMSNorm(dim)
        self.lm_head = torch.nn.Linear(dim, vocab, bias=False)
        self.lm_head.weight.requires_grad_(False)

    def forward(self, tokens, group, checkpointing):
        N = tokens.shape[1]
        D = self.embed_tokens.weight.shape[1] // self.heads
        inv_freq = 1.0 / (10000.0 ** (torch.arange(0, D, 2).float() / D))
        freqs = torch.outer(torch.arange(N).float(), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        x = self.embed_tokens(tokens)
        for layer in self.layers:
            if checkpointing:
                x = torch.utils.checkpoint.checkpoint(layer, x, cos, sin, group, use_reentrant=False)
            else:
                x = layer(x, cos, sin, group)
        return self.lm_head(self.norm(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--context", type=int, default=4096)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--ffn", type=int, default=1376)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--rank", type=int, default=8)
    ap.add_argument("--ratio", type=float, default=0.25)
    ap.add_argument("--group", type=int, default=0, help="explicit S² group size (overrides --ratio)")
    ap.add_argument("--precision", choices=["bf16", "f32"], default="bf16")
    ap.add_argument("--checkpointing", action="store_true")
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Llama(a.dim, a.layers, a.heads, a.ffn, a.vocab, a.rank)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-5, weight_decay=0.0)
    group = a.group if a.group else max(1, int(a.context * a.ratio))
    tokens = torch.randint(3, a.vocab, (1, a.context + 1))
    inputs, labels = tokens[:, :-1], tokens[:, 1:]

    def step():
        autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if a.precision == "bf16"
                    else contextlib.nullcontext())
        with autocast:
            logits = model(inputs, group, a.checkpointing)
        loss = F.cross_entropy(logits.float().view(-1, a.vocab), labels.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss.item()

    for _ in range(a.warmup):
        step()
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    for _ in range(a.steps):
        loss = step()
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({
        "precision": a.precision, "checkpointing": a.checkpointing, "context": a.context, "group": group,
        "threads": a.threads, "steps": a.steps, "tokens_per_s": a.steps * a.context / wall,
        "step_s": wall / a.steps, "cpu_s_per_step": cpu / a.steps, "peak_rss_bytes": peak_rss,
        "loss": loss, "trainable_params": sum(p.numel() for p in params),
    }), flush=True)


if __name__ == "__main__":
    main()
