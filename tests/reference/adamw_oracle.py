#!/usr/bin/env python3
"""PyTorch oracle for kernels/adamw: runs torch.optim.AdamW (single-tensor path, foreach=False)
on one parameter tensor and records the state after every step.

usage: adamw_oracle.py PARAMS GRADS OUT N STEPS LR BETA1 BETA2 EPS WEIGHT_DECAY

PARAMS: N float32 (little-endian) initial parameter values.
GRADS:  STEPS*N float32, the gradient of each step in order.
OUT:    written as STEPS*3*N float32: for each step, param, exp_avg, exp_avg_sq after it.
The hyperparameters are Python floats (parsed from their decimal text, as a user would pass them).
"""
import sys

import numpy as np
import torch


def main():
    params_path, grads_path, out_path = sys.argv[1:4]
    n, steps = int(sys.argv[4]), int(sys.argv[5])
    lr, beta1, beta2, eps, weight_decay = (float(a) for a in sys.argv[6:11])

    init = np.fromfile(params_path, dtype="<f4")
    grads = np.fromfile(grads_path, dtype="<f4")
    if init.size != n or grads.size != steps * n:
        sys.exit(f"adamw_oracle: expected {n} params and {steps * n} grads, found {init.size} and {grads.size}")

    param = torch.nn.Parameter(torch.from_numpy(init.copy()))
    opt = torch.optim.AdamW([param], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=weight_decay,
                            amsgrad=False, maximize=False, foreach=False)
    out = np.empty((steps, 3, n), dtype="<f4")
    for s in range(steps):
        param.grad = torch.from_numpy(grads[s * n:(s + 1) * n].copy())
        opt.step()
        state = opt.state[param]
        out[s, 0] = param.detach().numpy()
        out[s, 1] = state["exp_avg"].numpy()
        out[s, 2] = state["exp_avg_sq"].numpy()
    out.tofile(out_path)


if __name__ == "__main__":
    main()
