#!/usr/bin/env python3
"""Several optimizer steps of LoRA+ training on a LLaMA, in PyTorch float64, as LongLoRA's fine-tune.py
runs them through HF Trainer: per micro-batch the mean next-token loss divided by the accumulation steps,
backward; torch.nn.utils.clip_grad_norm_; torch.optim.AdamW with the lr LambdaLR sets
(constant_with_warmup: the first update has lr 0), weight decay on every tensor but the norm weights.

usage: train_steps_oracle.py DIR
DIR holds model/ (an HF checkpoint), init.safetensors (the starting value of every trainable tensor:
PEFT-named lora_A/lora_B and HF-named base weights), batches.safetensors (tokens.<m>, targets.<m>
[B, T] i32 for micro-batch m = 0, 1, ...; targets -100 = no loss) and options.json {"mode": "full"|
"flash"|"roll", "lora_scale", "steps", "accum", "lr", "warmup", "weight_decay", "betas", "eps",
"max_grad_norm"}.
Writes DIR/final.safetensors (every trainable tensor after the last step, f32) and DIR/steps.json
{"loss": [...], "grad_norm": [...], "lr": [...]} per step.
"""
import json
import os
import sys

import torch

import llama_ref
import safetensors_io
import train_grad_oracle
import train_oracle

torch.set_num_threads(1)


def main():
    d = sys.argv[1]
    torch.set_default_dtype(torch.float64)
    cfg, w = llama_ref.load_hf(os.path.join(d, "model"))
    w = {k: v.double() for k, v in w.items()}
    o = json.load(open(os.path.join(d, "options.json")))
    init = safetensors_io.load(os.path.join(d, "init.safetensors"))
    batches = safetensors_io.load(os.path.join(d, "batches.safetensors"))

    params = {name: t.double().clone().requires_grad_() for name, t in init.items()}
    for name, p in params.items():
        if "lora_" not in name:
            w[name] = p
    lora = train_grad_oracle.lora_fn(params, o["lora_scale"])

    ordered = [params[n] for n in sorted(params)]
    # HF Trainer's two parameter groups (Trainer.create_optimizer): no weight decay on norm weights.
    decay = [params[n] for n in sorted(params) if not n.rsplit(".", 1)[0].endswith("norm")]
    no_decay = [params[n] for n in sorted(params) if n.rsplit(".", 1)[0].endswith("norm")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"])
    factor = train_oracle.constant_with_warmup(o["warmup"])
    record = {"loss": [], "grad_norm": [], "lr": []}
    for step in range(o["steps"]):
        for p in ordered:
            p.grad = None
        step_loss = 0.0
        for m in range(step * o["accum"], (step + 1) * o["accum"]):
            tokens, targets = batches["tokens.%d" % m].long(), batches["targets.%d" % m].long()
            lengths = [tokens.shape[1]] * tokens.shape[0]
            attend = train_grad_oracle.attention_fn(o["mode"], 0, lengths)
            logits = llama_ref.forward(cfg, w, tokens, attention=attend, lora=lora)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                                     ignore_index=-100)
            (loss / o["accum"]).backward()
            step_loss += loss.item() / o["accum"]
        norm = torch.nn.utils.clip_grad_norm_(ordered, o["max_grad_norm"])
        lr = o["lr"] * factor(step)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.step()
        record["loss"].append(step_loss)
        record["grad_norm"].append(norm.item())
        record["lr"].append(lr)
    safetensors_io.save(os.path.join(d, "final.safetensors"), {n: p.detach().float() for n, p in params.items()})
    json.dump(record, open(os.path.join(d, "steps.json"), "w"))


if __name__ == "__main__":
    main()
