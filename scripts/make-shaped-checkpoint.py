#!/usr/bin/env python3
"""Writes a real-size, shaped HF checkpoint for a config.json: every tensor LLaMA needs, in sharded
safetensors (model-0000i-of-0000n.safetensors + model.safetensors.index.json, as transformers saves
them), so that memory and speed at 7B–70B can be measured without downloading weights.

  --fill zeros   (default) sparse files: the headers are written and the data left as holes, so the
                 checkpoint costs no disk and reads back as zeros (a 7B checkpoint: 12.6 GiB of file
                 size, a few KiB on disk). Training on it computes real shapes on zero weights.
  --fill random  a 1 MiB block of N(0, 0.02) values (norms: 1) repeated over every tensor: real bytes
                 on disk (12.6 GiB for 7B), non-zero activations. Not a trained model.

Standard library only (no numpy, no torch). Example (LLaMA-2-7B shapes, the real tokenizer):
  scripts/make-shaped-checkpoint.py --config bench/configs/llama2-7b.json \\
      --tokenizer ../shared/data/llama2-tokenizer.model --out /tmp/llama2-7b-shaped
"""
import argparse
import json
import os
import random
import shutil
import struct
import sys

DTYPES = {"float16": ("F16", 2), "bfloat16": ("BF16", 2), "float32": ("F32", 4)}


def expected_tensors(c):
    """(name, shape) of every weight of a LLaMA checkpoint in HF order (formats/llama_tensors.cpp)."""
    hidden, ffn, vocab = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
    heads = c["num_attention_heads"]
    kv_heads = c.get("num_key_value_heads", heads)
    head_dim = c.get("head_dim", hidden // heads)
    bias = c.get("attention_bias", False)
    out = [("model.embed_tokens.weight", [vocab, hidden])]
    for layer in range(c["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        out += [(p + "self_attn.q_proj.weight", [heads * head_dim, hidden]),
                (p + "self_attn.k_proj.weight", [kv_heads * head_dim, hidden]),
                (p + "self_attn.v_proj.weight", [kv_heads * head_dim, hidden]),
                (p + "self_attn.o_proj.weight", [hidden, heads * head_dim])]
        if bias:
            out += [(p + "self_attn.q_proj.bias", [heads * head_dim]),
                    (p + "self_attn.k_proj.bias", [kv_heads * head_dim]),
                    (p + "self_attn.v_proj.bias", [kv_heads * head_dim]),
                    (p + "self_attn.o_proj.bias", [hidden])]
        out += [(p + "mlp.gate_proj.weight", [ffn, hidden]),
                (p + "mlp.up_proj.weight", [ffn, hidden]),
                (p + "mlp.down_proj.weight", [hidden, ffn]),
                (p + "input_layernorm.weight", [hidden]),
                (p + "post_attention_layernorm.weight", [hidden])]
    out.append(("model.norm.weight", [hidden]))
    if not c.get("tie_word_embeddings", False):
        out.append(("lm_head.weight", [vocab, hidden]))
    return out


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def encode(values, st_dtype):
    """Little-endian bytes of float values in F32, F16 or BF16 (round to nearest even)."""
    if st_dtype == "F32":
        return struct.pack(f"<{len(values)}f", *values)
    if st_dtype == "F16":
        return struct.pack(f"<{len(values)}e", *values)
    words = struct.unpack(f"<{len(values)}I", struct.pack(f"<{len(values)}f", *values))
    return struct.pack(f"<{len(values)}H", *(((w + 0x7FFF + ((w >> 16) & 1)) >> 16) & 0xFFFF for w in words))


def write_tensor_data(f, nbytes, block):
    """Writes nbytes from a repeated block, or leaves a hole when block is None."""
    if block is None:
        f.seek(nbytes, os.SEEK_CUR)
        return
    while nbytes > 0:
        n = min(nbytes, len(block))
        f.write(block[:n])
        nbytes -= n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="an HF config.json (e.g. bench/configs/llama2-7b.json)")
    ap.add_argument("--out", required=True, help="output directory (created; must not hold a model)")
    ap.add_argument("--fill", choices=["zeros", "random"], default="zeros")
    ap.add_argument("--dtype", choices=sorted(DTYPES), help="stored dtype (default: the config's torch_dtype)")
    ap.add_argument("--layers", type=int, help="override num_hidden_layers (a small version of the same shapes)")
    ap.add_argument("--shard-gib", type=float, default=5.0, help="largest shard in GiB (transformers' 5GB default)")
    ap.add_argument("--tokenizer", help="a tokenizer.model to copy in (LLaMA-2's for its shapes)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    try:
        with open(a.config) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"{a.config}: {e}")
    for key in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        if not isinstance(config.get(key), int) or config[key] < 1:
            sys.exit(f"{a.config}: {key}: expected a positive integer, found {config.get(key)!r}")
    if a.layers is not None:
        if a.layers < 1:
            sys.exit(f"--layers: expected a count >= 1, found {a.layers}")
        config["num_hidden_layers"] = a.layers
    dtype_name = a.dtype or config.get("torch_dtype", "float32")
    if dtype_name not in DTYPES:
        sys.exit(f"{a.config}: torch_dtype: expected one of {sorted(DTYPES)}, found {dtype_name!r}")
    config["torch_dtype"] = dtype_name
    st_dtype, esize = DTYPES[dtype_name]
    if os.path.exists(os.path.join(a.out, "config.json")):
        sys.exit(f"{a.out}: already holds a model (config.json); choose an empty directory")
    os.makedirs(a.out, exist_ok=True)

    rng = random.Random(a.seed)
    blocks = {}
    if a.fill == "random":
        count = (1 << 20) // esize
        blocks["weight"] = encode([rng.gauss(0.0, 0.02) for _ in range(count)], st_dtype)
        blocks["norm"] = encode([1.0] * count, st_dtype)

    # Shards of consecutive tensors, each at most --shard-gib (a larger tensor gets its own).
    tensors = expected_tensors(config)
    limit = int(a.shard_gib * (1 << 30))
    shards, current, size = [], [], 0
    for name, shape in tensors:
        nbytes = numel(shape) * esize
        if current and size + nbytes > limit:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape, nbytes))
        size += nbytes
    shards.append(current)

    weight_map, total = {}, 0
    for i, shard in enumerate(shards):
        file_name = f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        header, offset = {"__metadata__": {"format": "pt"}}, 0
        for name, shape, nbytes in shard:
            header[name] = {"dtype": st_dtype, "shape": shape, "data_offsets": [offset, offset + nbytes]}
            offset += nbytes
            weight_map[name] = file_name
        text = json.dumps(header, separators=(",", ":")).encode()
        text += b" " * (-(8 + len(text)) % 8)  # data 8-byte aligned, as safetensors pads it
        path = os.path.join(a.out, file_name)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for name, shape, nbytes in shard:
                kind = "norm" if name.endswith("norm.weight") else "weight"
                write_tensor_data(f, nbytes, blocks.get(kind))
            f.truncate(8 + len(text) + offset)  # a trailing hole still counts in the file size
        total += offset
        print(f"{path}: {len(shard)} tensors, {offset / (1 << 30):.2f} GiB", flush=True)

    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    if a.tokenizer:
        shutil.copyfile(a.tokenizer, os.path.join(a.out, "tokenizer.model"))
    print(f"{a.out}: {len(tensors)} tensors, {total / (1 << 30):.2f} GiB of {dtype_name} ({a.fill}) in "
          f"{len(shards)} shards")


if __name__ == "__main__":
    main()
