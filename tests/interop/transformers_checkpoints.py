"""Tiny LLaMA checkpoints written by transformers itself, in every layout save_pretrained produces, and
the logits transformers computes with them.

usage: transformers_checkpoints.py OUT_DIR

For each config (gqa: 6 query heads of dim 10 on 2 KV heads, untied lm_head; tied: 4 query heads of dim 24
on 1 KV head, so head_dim is not hidden_size / heads, and tie_word_embeddings) a random model (fixed seed;
the norms are randomised too, transformers initialises them to 1) is saved four times, in f32:
  OUT_DIR/<config>-safetensors/         model.safetensors
  OUT_DIR/<config>-bin/                 pytorch_model.bin           (safe_serialization=False)
  OUT_DIR/<config>-safetensors-sharded/ model-0000k-of-0000n.safetensors + model.safetensors.index.json
  OUT_DIR/<config>-bin-sharded/         pytorch_model-0000k-of-0000n.bin + pytorch_model.bin.index.json
and the gqa model twice more in half precision: OUT_DIR/gqa-bf16-safetensors/, OUT_DIR/gqa-f16-bin/.
OUT_DIR/<name>.expected.safetensors holds tokens [2, 29] (I32) and the logits [2, 29, V] of the directory
<name> as a user loads it: AutoModelForCausalLM.from_pretrained(torch_dtype=float32), eager attention.
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM, LlamaConfig

CONFIGS = {
    "gqa": dict(hidden_size=60, intermediate_size=97, num_hidden_layers=2, num_attention_heads=6,
                num_key_value_heads=2, vocab_size=131, max_position_embeddings=64, rms_norm_eps=1e-5,
                rope_theta=10000.0, tie_word_embeddings=False),
    "tied": dict(hidden_size=64, intermediate_size=80, num_hidden_layers=3, num_attention_heads=4, head_dim=24,
                 num_key_value_heads=1, vocab_size=97, max_position_embeddings=64, rms_norm_eps=1e-6,
                 rope_theta=500.0, tie_word_embeddings=True),
}
SHARD = "20KB"  # several shards for these sizes
LAYOUTS = {"safetensors": {}, "bin": dict(safe_serialization=False),
           "safetensors-sharded": dict(max_shard_size=SHARD),
           "bin-sharded": dict(max_shard_size=SHARD, safe_serialization=False)}
HALF = [("gqa", "bf16", torch.bfloat16, "safetensors"), ("gqa", "f16", torch.float16, "bin")]


def random_model(fields):
    torch.manual_seed(1234)
    config = LlamaConfig(**fields, bos_token_id=1, eos_token_id=2)
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.add_(0.3 * torch.randn_like(p))
    return model


def save(model, out, name, layout):
    path = os.path.join(out, name)
    model.save_pretrained(path, **LAYOUTS[layout])
    if layout.endswith("sharded"):
        assert any(f.endswith(".index.json") for f in os.listdir(path)), "%s: expected a sharded save" % name
    loaded = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32, attn_implementation="eager")
    tokens = torch.randint(0, loaded.config.vocab_size, (2, 29), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        logits = loaded.eval()(input_ids=tokens).logits.float()
    save_file({"tokens": tokens.to(torch.int32), "logits": logits.contiguous()},
              os.path.join(out, name + ".expected.safetensors"))


def main():
    out = sys.argv[1]
    for config, fields in CONFIGS.items():
        model = random_model(fields)
        for layout in LAYOUTS:
            save(model, out, "%s-%s" % (config, layout), layout)
    for config, tag, dtype, layout in HALF:
        save(random_model(CONFIGS[config]).to(dtype), out, "%s-%s-%s" % (config, tag, layout), layout)


if __name__ == "__main__":
    main()
