#!/usr/bin/python3
"""PyTorch oracle for the attention kernel: LongLoRA's S²-Attn computed the way LongLoRA's code does.

  flash  LongLoRA's forward_flashattn: the two halves of the query heads become two sequences whose
         cu_seqlens are built exactly as its code builds them (arange(0, N, G), + G//2, the row end),
         then causal attention inside every cu_seqlens segment (what flash_attn_varlen computes).
         Extension (DESIGN.md): boundaries past the row end are clipped to it, so G need not divide N.
  roll   LongLoRA's forward_noflashattn (the paper's Algorithm 1): roll the second half of the heads by
         -(G//2) along the sequence, reshape into groups of G, causal mask inside each group, softmax,
         reshape back, roll back. Extension: a partial last group (the rolled sequence is padded to a
         multiple of G; padded keys come after every real query, so the causal mask hides them).
  full   plain causal attention.
N <= G means full causal. GQA as LongLoRA does it: repeat_kv before attention. Rows of a batch are
run one by one at their own length (LongLoRA's own batch > 1 handling is broken; see DESIGN.md §2).

Usage: attention_oracle.py CASES.json, a list of cases (one torch start-up for all of them). Inputs in
each case's dir: q.bin [B,T,Hq,D], k.bin and v.bin [B,T,Hkv,D], dout.bin [B,T,Hq,D], float64 LE.
Outputs there: o.bin, dq.bin, dk.bin, dv.bin (float64, same layouts, zero in padding rows): the
forward and the gradients of sum(o * dout) from autograd.
"""
import argparse
import json
import math
import os

import numpy as np
import torch


def causal_attention(q, k, v):
    """q, k, v: [H, L, D] -> [H, L, D], causal softmax attention in float64."""
    L = q.shape[1]
    scores = q @ k.transpose(1, 2) / math.sqrt(q.shape[2])
    future = torch.ones(L, L, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def longlora_cu_seqlens(n, group):
    """cu_seqlens of LongLoRA's forward_flashattn for one unpadded row of n tokens (bsz = 1): the first
    half of the heads is sequence [0, n), the second half [n, 2n)."""
    cu_q_lens = torch.tensor([0, n, 2 * n])
    starts = torch.arange(0, n, group)
    starts = torch.stack([starts, starts + group // 2]) + cu_q_lens[:-1].unsqueeze(-1)
    cu = torch.cat([starts, cu_q_lens[1:].unsqueeze(-1)], dim=-1)
    # Clip each half's boundaries to its end (LongLoRA requires G | N and never needs this).
    cu = torch.minimum(cu, cu_q_lens[1:].unsqueeze(-1))
    return cu.view(-1).tolist()


def s2_flash(q, k, v, group):
    """q, k, v: [H, N, D] (k, v already repeated per query head)."""
    H, n, _ = q.shape
    # LongLoRA reshapes the heads into two halves that become sequences 0 and 1 of the varlen batch.
    halves = [slice(0, H // 2), slice(H // 2, H)]
    out = torch.zeros_like(q)
    cu = longlora_cu_seqlens(n, group)
    for a, b in zip(cu[:-1], cu[1:]):
        if b <= a:
            continue
        half = 0 if a < n else 1
        heads = halves[half]
        lo, hi = a - half * n, b - half * n
        out[heads, lo:hi] = causal_attention(q[heads, lo:hi], k[heads, lo:hi], v[heads, lo:hi])
    return out


def s2_roll(q, k, v, group):
    """q, k, v: [H, N, D] (k, v already repeated per query head)."""
    H, n, D = q.shape
    shift = group // 2

    def shift_and_group(x):
        x = x.clone()
        x[H // 2:] = x[H // 2:].roll(-shift, dims=1)
        pad = (-n) % group
        x = torch.cat([x, x.new_zeros(H, pad, D)], dim=1)
        return x.reshape(H, (n + pad) // group, group, D).transpose(0, 1)  # [groups, H, G, D]

    qg, kg, vg = shift_and_group(q), shift_and_group(k), shift_and_group(v)
    scores = qg @ kg.transpose(-1, -2) / math.sqrt(D)
    future = torch.ones(group, group, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(future, float("-inf"))
    out = torch.softmax(scores, dim=-1) @ vg  # [groups, H, G, D]
    out = out.transpose(0, 1).reshape(H, -1, D)[:, :n]
    out = out.clone()
    out[H // 2:] = out[H // 2:].roll(shift, dims=1)
    return out


def run_case(case):
    d = case["dir"]
    lengths = case["lengths"]
    B, T, D = len(lengths), case["max_len"], case["head_dim"]
    Hq, Hkv = case["q_heads"], case["kv_heads"]

    def load(name, heads):
        x = np.fromfile(os.path.join(d, name), dtype="<f8").reshape(B, T, heads, D)
        return torch.from_numpy(x).requires_grad_(name != "dout.bin")

    q, k, v, dout = load("q.bin", Hq), load("k.bin", Hkv), load("v.bin", Hkv), load("dout.bin", Hq)
    o = torch.zeros(B, T, Hq, D, dtype=torch.float64)
    rows = []
    for b, n in enumerate(lengths):
        if n == 0:
            continue
        # [N, H, D] -> [H, N, D]; repeat_kv: query head h uses KV head h // (Hq / Hkv).
        qb = q[b, :n].transpose(0, 1)
        kb = k[b, :n].transpose(0, 1).repeat_interleave(Hq // Hkv, dim=0)
        vb = v[b, :n].transpose(0, 1).repeat_interleave(Hq // Hkv, dim=0)
        group = case["group"] if case["group"] > 0 else max(1, int(n * 0.25))
        if case["mode"] == "full" or n <= group:
            ob = causal_attention(qb, kb, vb)
        elif case["mode"] == "flash":
            ob = s2_flash(qb, kb, vb, group)
        else:
            ob = s2_roll(qb, kb, vb, group)
        rows.append((b, n, ob.transpose(0, 1)))
    if rows:
        sum((ob * dout[b, :n]).sum() for b, n, ob in rows).backward()
    for b, n, ob in rows:
        o[b, :n] = ob.detach()
    grads = [x.grad if x.grad is not None else torch.zeros_like(x) for x in (q, k, v)]
    for name, x in zip(["o.bin", "dq.bin", "dk.bin", "dv.bin"], [o] + grads):
        x.detach().numpy().astype("<f8").tofile(os.path.join(d, name))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cases", help="JSON list of {dir, mode (full|flash|roll), max_len, lengths, q_heads, "
                                  "kv_heads, head_dim, group (0 = int(N/4) per row)}")
    for case in json.load(open(ap.parse_args().cases)):
        run_case(case)


if __name__ == "__main__":
    main()
