#!/usr/bin/env python3
"""PyTorch oracle for the training loop's optimizer side (src/train): gradient accumulation, global-norm
clipping, the learning-rate schedule and AdamW, as HF Trainer drives them for LongLoRA's fine-tune.py.

usage: train_oracle.py IN.safetensors OUT_PREFIX STEPS ACCUM LR BETA1 BETA2 EPS WEIGHT_DECAY
                       WARMUP TOTAL_STEPS SCHEDULE MAX_GRAD_NORM

IN holds the initial parameters "init.<i>" (f32), the data of every micro-batch "w.<step>.<micro>.<i>"
(same shapes) and "counts" (I32 [STEPS, ACCUM], the micro-batch's loss-token count). Micro-batch k of
a step has the loss  (sum_i (p_i * w_i).sum()) * (1 / (count * ACCUM)), i.e. a mean over its tokens
divided by the accumulation steps, so each backward adds f32(1/(count*ACCUM)) * w_i to p_i.grad.
Per step: backward of every micro-batch, torch.nn.utils.clip_grad_norm_, optimizer.step() with the lr
that LambdaLR (the HF schedule's lr_lambda) set, scheduler.step(), zero_grad().

Writes OUT_PREFIX.safetensors with "param.<step>.<i>", "exp_avg.<step>.<i>", "exp_avg_sq.<step>.<i>"
after each step, and OUT_PREFIX.json {"grad_norm": [...], "lr": [...]} (the clip's returned total norm
and the lr each update used; Python floats, exact) plus {"schedules": {name: [lr factor of steps
0 .. TOTAL_STEPS + 2]}} for all three HF schedules with WARMUP and TOTAL_STEPS.
"""
import json
import math
import sys

import torch

import safetensors_io


# The lr_lambda of transformers.optimization (get_*_schedule_with_warmup), transcribed.
def constant_with_warmup(warmup):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1.0, warmup))
        return 1.0
    return f


def linear(warmup, total):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        return max(0.0, float(total - step) / float(max(1, total - warmup)))
    return f


def cosine(warmup, total, num_cycles=0.5):
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        progress = float(step - warmup) / float(max(1, total - warmup))
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress)))
    return f


def main():
    in_path, out_prefix = sys.argv[1:3]
    steps, accum = int(sys.argv[3]), int(sys.argv[4])
    lr, beta1, beta2, eps, weight_decay = (float(a) for a in sys.argv[5:10])
    warmup, total, schedule, max_norm = int(sys.argv[10]), int(sys.argv[11]), sys.argv[12], float(sys.argv[13])
    schedules = {"constant_with_warmup": constant_with_warmup(warmup), "linear": linear(warmup, total),
                 "cosine": cosine(warmup, total)}

    data = safetensors_io.load(in_path)
    n_params = sum(1 for k in data if k.startswith("init."))
    params = [torch.nn.Parameter(data[f"init.{i}"].clone()) for i in range(n_params)]
    counts = data["counts"]
    opt = torch.optim.AdamW(params, lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                            amsgrad=False, maximize=False, foreach=False)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedules[schedule])

    out, norms, lrs = {}, [], []
    for s in range(steps):
        for k in range(accum):
            loss = sum((p * data[f"w.{s}.{k}.{i}"]).sum() for i, p in enumerate(params))
            (loss * (1.0 / (int(counts[s, k]) * accum))).backward()
        # HF Trainer clips only when max_grad_norm > 0; an infinite max_norm measures without changing.
        norm = torch.nn.utils.clip_grad_norm_(params, max_norm if max_norm > 0 else math.inf)
        lrs.append(opt.param_groups[0]["lr"])
        norms.append(float(norm))
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        for i, p in enumerate(params):
            out[f"param.{s}.{i}"] = p.detach().clone()
            out[f"exp_avg.{s}.{i}"] = opt.state[p]["exp_avg"].clone()
            out[f"exp_avg_sq.{s}.{i}"] = opt.state[p]["exp_avg_sq"].clone()
    safetensors_io.save(out_prefix + ".safetensors", out)
    factors = {name: [f(step) for step in range(total + 3)] for name, f in schedules.items()}
    with open(out_prefix + ".json", "w") as f:
        json.dump({"grad_norm": norms, "lr": lrs, "schedules": factors}, f)


if __name__ == "__main__":
    main()
