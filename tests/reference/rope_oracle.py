#!/usr/bin/env python3
"""PyTorch oracle for kernels/rope: Hugging Face LLaMA's rotary embedding with linear position
interpolation (LlamaLinearScalingRotaryEmbedding + apply_rotary_pos_emb, transformers 4.3x), in
float32 as transformers computes it.

usage: rope_oracle.py X POS OUT T HEADS HEAD_DIM THETA FACTOR

X:   T*HEADS*HEAD_DIM float32 (little-endian), a [T, HEADS, HEAD_DIM] block of q (or k) vectors.
POS: T int32, the position of each token.
OUT: written as float32: the rotated block [T, HEADS, HEAD_DIM], then cos [T, HEAD_DIM] and
     sin [T, HEAD_DIM] (HF's caches gathered at POS).
"""
import sys

import numpy as np
import torch


class LinearScalingRotaryEmbedding(torch.nn.Module):
    """The cos/sin caches of transformers' LlamaLinearScalingRotaryEmbedding."""

    def __init__(self, dim, max_position_embeddings, base, scaling_factor):
        super().__init__()
        self.scaling_factor = scaling_factor
        self.inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        t = torch.arange(max_position_embeddings, dtype=self.inv_freq.dtype)
        t = t / self.scaling_factor
        freqs = torch.einsum("i,j->ij", t, self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.cos_cached = emb.cos()
        self.sin_cached = emb.sin()


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary_pos_emb(q, cos, sin, position_ids):
    # q: [T, H, D]; cos/sin caches [max_pos, D] gathered per token and broadcast over heads
    cos = cos[position_ids].unsqueeze(1)
    sin = sin[position_ids].unsqueeze(1)
    return (q * cos) + (rotate_half(q) * sin)


def main():
    x_path, pos_path, out_path = sys.argv[1:4]
    T, heads, head_dim = (int(a) for a in sys.argv[4:7])
    theta, factor = float(sys.argv[7]), float(sys.argv[8])

    x = np.fromfile(x_path, dtype="<f4")
    pos = np.fromfile(pos_path, dtype="<i4")
    if x.size != T * heads * head_dim or pos.size != T:
        sys.exit(f"rope_oracle: expected {T * heads * head_dim} values and {T} positions, "
                 f"found {x.size} and {pos.size}")

    rope = LinearScalingRotaryEmbedding(head_dim, int(pos.max()) + 1, theta, factor)
    position_ids = torch.from_numpy(pos.astype(np.int64))
    q = torch.from_numpy(x.copy()).reshape(T, heads, head_dim)
    out = apply_rotary_pos_emb(q, rope.cos_cached, rope.sin_cached, position_ids)
    with open(out_path, "wb") as f:
        f.write(out.numpy().astype("<f4").tobytes())
        f.write(rope.cos_cached[position_ids].numpy().astype("<f4").tobytes())
        f.write(rope.sin_cached[position_ids].numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
