"""Greedy continuation of a token prompt by the PyTorch reference LLaMA (float64).

usage: greedy_reference.py HF_DIR N_TOKENS OUT_FILE [PROMPT_IDS...]
Writes the N new token ids, space-separated, to OUT_FILE (prompt defaults to BOS = 1).
"""
import sys

import torch

torch.set_num_threads(1)  # tiny ops: threads only add overhead

import llama_ref


def main():
    model_dir, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    prompt = [int(t) for t in sys.argv[4:]] or [1]
    cfg, w = llama_ref.load_hf(model_dir)
    torch.set_default_dtype(torch.float64)
    w = {k: v.double() for k, v in w.items()}
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            logits = llama_ref.forward(cfg, w, torch.tensor([ids]))
            ids.append(int(torch.argmax(logits[0, -1])))
    with open(out, "w") as f:
        f.write(" ".join(str(t) for t in ids[len(prompt):]) + "\n")


if __name__ == "__main__":
    main()
