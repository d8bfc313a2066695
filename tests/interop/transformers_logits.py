"""The logits transformers computes with an HF model directory, loaded as a user loads it.

usage: transformers_logits.py MODEL_DIR TOKENS OUT.safetensors
TOKENS is a headerless little-endian uint16 token file (LongLoRA's .bin). The model is loaded with
AutoModelForCausalLM.from_pretrained (f32, eager attention) and run on all tokens as one row; OUT holds
logits [1, T, V] (F32). Prints the config's rope_scaling as transformers parsed it.
"""
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM


def main():
    model_dir, tokens_path, out = sys.argv[1:4]
    model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32,
                                                 attn_implementation="eager").eval()
    print("rope_scaling:", model.config.rope_scaling)
    tokens = torch.from_numpy(np.fromfile(tokens_path, dtype="<u2").astype(np.int64))[None, :]
    with torch.no_grad():
        logits = model(input_ids=tokens).logits.float()
    save_file({"logits": logits.contiguous()}, out)


if __name__ == "__main__":
    main()
