"""Perplexity by LongLoRA's eval.py loop on the PyTorch reference LLaMA (float64).

usage: eval_oracle.py HF_DIR TOKENS.bin SEQ_LEN OUT_FILE [--batch-size B]
Windows as eval.py's get_as_batch (starts every 256 tokens below len - seq_len, last start
dropped); each window's loss is HF's mean next-token loss over seq_len - 1 predictions; writes
"mean_loss perplexity windows" where perplexity = exp(mean of window losses).
"""
import math
import sys

import numpy as np
import torch

import llama_ref

torch.set_num_threads(1)


def main():
    model_dir, data_path, seq_len, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    cfg, w = llama_ref.load_hf(model_dir)
    torch.set_default_dtype(torch.float64)
    w = {k: v.double() for k, v in w.items()}
    data = np.memmap(data_path, dtype=np.uint16, mode="r")
    starts = list(range(0, len(data) - seq_len, 256))
    starts.pop()
    losses = []
    with torch.no_grad():
        for s in starts:
            x = torch.from_numpy(data[s:s + seq_len].astype(np.int64)).unsqueeze(0)
            logits = llama_ref.forward(cfg, w, x)
            loss = torch.nn.functional.cross_entropy(logits[0, :-1], x[0, 1:])
            losses.append(loss.item())
    mean = sum(losses) / len(losses)
    with open(out, "w") as f:
        f.write(f"{mean!r} {math.exp(mean)!r} {len(losses)}\n")


if __name__ == "__main__":
    main()
