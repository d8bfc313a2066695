"""Loss and gradients of every trainable tensor of a LoRA+ LLaMA, by PyTorch autograd in float64.

usage: train_grad_oracle.py DIR
DIR holds model/ (an HF checkpoint), adapter.safetensors (PEFT-named lora_A/lora_B values),
batch.safetensors (tokens [B, T] i32, targets [B, T] i32 with -100 = no loss, lengths [B] i32) and
options.json {"mode": "full"|"flash"|"roll", "group": 0 (= int(0.25·N) per row) or G,
"lora_scale": s, "trainable": [HF names of trainable base weights]}.
Writes DIR/grads.safetensors: loss_sum (the summed next-token loss) and the gradient of that sum for
each trainable tensor, under the same names (f32, computed in float64).
"""
import json
import os
import sys

import torch

import attention_oracle
import llama_ref
import safetensors_io

torch.set_num_threads(1)


def attention_fn(mode, group, lengths):
    """An attention(q, k, v) over [B, H, T, D] that runs each row at its own length."""
    def attend(q, k, v):
        rows = []
        for b, n in enumerate(lengths):
            qb, kb, vb = q[b, :, :n], k[b, :, :n], v[b, :, :n]
            g = group if group > 0 else max(1, int(n * 0.25))
            if mode == "full" or n <= g:
                ob = attention_oracle.causal_attention(qb, kb, vb)
            elif mode == "flash":
                ob = attention_oracle.s2_flash(qb, kb, vb, g)
            else:
                ob = attention_oracle.s2_roll(qb, kb, vb, g)
            rows.append(torch.nn.functional.pad(ob, (0, 0, 0, q.shape[2] - n)))  # padding rows: zeros
        return torch.stack(rows)
    return attend


def lora_fn(tensors, scale):
    """PEFT's LoRA output for llama_ref.forward: scale · (x·Aᵀ)·Bᵀ for a module with lora_A/lora_B in
    `tensors` (PEFT names), 0 for the others."""
    def lora(module, x):
        a = tensors.get("base_model.model." + module + ".lora_A.weight")
        if a is None:
            return 0
        b = tensors["base_model.model." + module + ".lora_B.weight"]
        return scale * (x @ a.t()) @ b.t()
    return lora


def main():
    d = sys.argv[1]
    torch.set_default_dtype(torch.float64)
    cfg, w = llama_ref.load_hf(os.path.join(d, "model"))
    w = {k: v.double() for k, v in w.items()}
    opts = json.load(open(os.path.join(d, "options.json")))
    adapter = {k: v.double().requires_grad_() for k, v in safetensors_io.load(os.path.join(d, "adapter.safetensors")).items()}
    batch = safetensors_io.load(os.path.join(d, "batch.safetensors"))
    tokens, targets = batch["tokens"].long(), batch["targets"].long()
    lengths = batch["lengths"].tolist()

    for name in opts["trainable"]:
        w[name] = w[name].clone().requires_grad_()
    lora = lora_fn(adapter, opts["lora_scale"])
    logits = llama_ref.forward(cfg, w, tokens, attention=attention_fn(opts["mode"], opts["group"], lengths), lora=lora)
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                             ignore_index=-100, reduction="sum")
    loss.backward()
    out = {"loss_sum": loss.detach().reshape(1).float()}
    for name, t in adapter.items():
        out[name] = t.grad.float()
    for name in opts["trainable"]:
        out[name] = w[name].grad.float()
    safetensors_io.save(os.path.join(d, "grads.safetensors"), out)


if __name__ == "__main__":
    main()
