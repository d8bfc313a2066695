"""The logits transformers computes with an HF model directory, loaded as a user loads it.

usage: transformers_logits.py TOKENS MODEL_DIR OUT.safetensors [MODEL_DIR OUT.safetensors ...]
TOKENS is a headerless little-endian uint16 token file (LongLoRA's .bin). Each model is loaded with
AutoModelForCausalLM.from_pretrained (f32, eager attention) and run on all tokens as one row; its OUT holds
logits [1, T, V] (F32). Prints each config's rope_scaling as transformers parsed it.
"""
import sys

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM


def main():
    tokens = torch.from_numpy(np.fromfile(sys.argv[1], dtype="<u2").astype(np.int64))[None, :]
    pairs = sys.argv[2:]
    assert pairs and len(pairs) % 2 == 0, __doc__
    for model_dir, out in zip(pairs[0::2], pairs[1::2]):
        model = AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        print("%s rope_scaling: %s" % (model_dir, model.config.rope_scaling))
        with torch.no_grad():
            logits = model(input_ids=tokens).logits.float()
        save_file({"logits": logits.contiguous()}, out)


if __name__ == "__main__":
    main()
