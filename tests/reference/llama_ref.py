"""A plain PyTorch LLaMA with Hugging Face transformers' semantics: the test oracle.

Written from the LLaMA architecture (RMSNorm, rotate-half RoPE with linear position
interpolation, grouped-query attention, SwiGLU) and HF's parameter names, so a checkpoint
this writes loads in transformers and in longlora alike.
"""
import json
import math
import os

import torch

import safetensors_io


def config_dict(hidden, inter, layers, heads, kv_heads, vocab, max_pos=64, theta=10000.0,
                rope_factor=None, tie=False, eps=1e-5):
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": hidden, "intermediate_size": inter, "num_hidden_layers": layers,
        "num_attention_heads": heads, "num_key_value_heads": kv_heads, "vocab_size": vocab,
        "max_position_embeddings": max_pos, "rms_norm_eps": eps, "rope_theta": theta,
        "rope_scaling": None if rope_factor is None else {"type": "linear", "factor": rope_factor},
        "hidden_act": "silu", "tie_word_embeddings": tie, "bos_token_id": 1, "eos_token_id": 2,
        "torch_dtype": "float32",
    }


def rope_factor(cfg):
    rs = cfg.get("rope_scaling")
    return float(rs["factor"]) if rs else 1.0


def random_weights(cfg, seed):
    """HF-named weights, N(0, 0.02)-ish with norms around 1 (never all-ones)."""
    g = torch.Generator().manual_seed(seed)
    C, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = C // H

    def lin(o, i):
        return torch.randn(o, i, generator=g) / math.sqrt(i)

    def norm():
        return 1.0 + 0.1 * torch.randn(C, generator=g)

    w = {"model.embed_tokens.weight": torch.randn(V, C, generator=g)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = norm()
        w[p + "self_attn.q_proj.weight"] = lin(H * D, C)
        w[p + "self_attn.k_proj.weight"] = lin(Hkv * D, C)
        w[p + "self_attn.v_proj.weight"] = lin(Hkv * D, C)
        w[p + "self_attn.o_proj.weight"] = lin(C, H * D)
        w[p + "post_attention_layernorm.weight"] = norm()
        w[p + "mlp.gate_proj.weight"] = lin(F, C)
        w[p + "mlp.up_proj.weight"] = lin(F, C)
        w[p + "mlp.down_proj.weight"] = lin(C, F)
    w["model.norm.weight"] = norm()
    if not cfg.get("tie_word_embeddings"):
        w["lm_head.weight"] = lin(V, C)
    return w


def save_hf(dirpath, cfg, weights, dtype=torch.float32):
    os.makedirs(dirpath, exist_ok=True)
    cfg = dict(cfg)
    cfg["torch_dtype"] = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}[dtype]
    with open(os.path.join(dirpath, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    safetensors_io.save(os.path.join(dirpath, "model.safetensors"),
                        {k: v.to(dtype) for k, v in weights.items()}, {"format": "pt"})


def load_hf(dirpath):
    with open(os.path.join(dirpath, "config.json")) as f:
        cfg = json.load(f)
    w = safetensors_io.load(os.path.join(dirpath, "model.safetensors"))
    return cfg, {k: v.float() for k, v in w.items()}


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rope_cos_sin(positions, head_dim, theta, factor):
    """HF LlamaRotaryEmbedding / LlamaLinearScalingRotaryEmbedding, in float32."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
    t = positions.float() / factor
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def causal_attention(q, k, v):
    """q [B, H, T, D], k/v [B, H, T, D] (kv already repeated): full causal softmax attention."""
    T = q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)
    scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def forward(cfg, w, tokens, attention=causal_attention, lora=None, positions=None):
    """tokens [B, T] → logits [B, T, V] (float32). lora(name, x) adds the adapter's output for a
    projection named like 'model.layers.0.self_attn.q_proj' (None: no adapter)."""
    C = cfg["hidden_size"]
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = C // H
    eps = cfg["rms_norm_eps"]
    B, T = tokens.shape
    if positions is None:
        positions = torch.arange(T)
    cos, sin = rope_cos_sin(positions, D, cfg.get("rope_theta", 10000.0), rope_factor(cfg))

    def proj(name, x):
        y = x @ w[name + ".weight"].t()
        if lora is not None:
            y = y + lora(name, x)
        return y

    x = w["model.embed_tokens.weight"][tokens]
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = proj(p + "self_attn.q_proj", h).view(B, T, H, D).transpose(1, 2)
        k = proj(p + "self_attn.k_proj", h).view(B, T, Hkv, D).transpose(1, 2)
        v = proj(p + "self_attn.v_proj", h).view(B, T, Hkv, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // Hkv, dim=1)
        v = v.repeat_interleave(H // Hkv, dim=1)
        a = attention(q, k, v).transpose(1, 2).reshape(B, T, H * D)
        x = x + proj(p + "self_attn.o_proj", a)
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        m = torch.nn.functional.silu(proj(p + "mlp.gate_proj", h)) * proj(p + "mlp.up_proj", h)
        x = x + proj(p + "mlp.down_proj", m)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.t()
