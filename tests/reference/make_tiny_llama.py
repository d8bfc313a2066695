"""Writes a tiny random HF LLaMA checkpoint and the logits the reference computes for a batch.

usage: make_tiny_llama.py OUT_DIR [--tie] [--rope-factor F] [--dtype float32|bfloat16|float16] [--seed S]

OUT_DIR/model/{config.json, model.safetensors}; OUT_DIR/expected.safetensors with
tokens [B, T] (I32) and logits [B, T, V] (F32, computed in float64 from the stored weights).
"""
import argparse
import os

import torch

import llama_ref
import safetensors_io


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--rope-factor", type=float, default=None)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)

    # Odd sizes with GQA: 6 query heads of dim 10 sharing 2 KV heads, FFN 97, vocab 131.
    cfg = llama_ref.config_dict(hidden=60, inter=97, layers=2, heads=6, kv_heads=2, vocab=131,
                                max_pos=32, rope_factor=args.rope_factor, tie=args.tie)
    w = llama_ref.random_weights(cfg, args.seed)
    llama_ref.save_hf(os.path.join(args.out, "model"), cfg, w, dtype)

    # The reference runs on exactly the stored values, in float64.
    stored = {k: v.to(dtype).double() for k, v in w.items()}
    g = torch.Generator().manual_seed(args.seed + 1)
    tokens = torch.randint(0, cfg["vocab_size"], (2, 23), generator=g)
    torch.set_default_dtype(torch.float64)
    logits = llama_ref.forward(cfg, stored, tokens)
    safetensors_io.save(os.path.join(args.out, "expected.safetensors"),
                        {"tokens": tokens.to(torch.int32), "logits": logits.float()})


if __name__ == "__main__":
    main()
