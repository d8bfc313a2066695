"""Tiny LLaMA checkpoints written by transformers itself, in every layout save_pretrained produces, and
the logits transformers computes with them.

usage: transformers_checkpoints.py OUT_DIR

For each config (gqa: 6 query heads of dim 10 on 2 KV heads, untied lm_head; tied: 4 query heads of dim 24
on 1 KV head, so head_dim is not hidden_size / heads, and tie_word_embeddings) a random model (fixed seed;
the norms are randomised too, transformers initialises them to 1) is saved four times:
  OUT_DIR/<config>-safetensors/         model.safetensors
  OUT_DIR/<config>-bin/                 pytorch_model.bin           (safe_serialization=False)
  OUT_DIR/<config>-safetensors-sharded/ model-0000k-of-0000n.safetensors + model.safetensors.index.json
  OUT_DIR/<config>-bin-sharded/         pytorch_model-0000k-of-0000n.bin + pytorch_model.bin.index.json
and OUT_DIR/<config>-expected.safetensors holds tokens [2, 29] (I32) and the f32 logits [2, 29, V] of
LlamaForCausalLM on them (eager attention).
Also OUT_DIR/refused-<option>/ (safetensors): the gqa model with an option of LlamaConfig that changes the
math beyond LongLoRA's LLaMA (attention_bias, mlp_bias, another hidden_act), which longlora must refuse.
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
REFUSED = {"attention_bias": dict(attention_bias=True), "mlp_bias": dict(mlp_bias=True),
           "hidden_act": dict(hidden_act="gelu_pytorch_tanh")}
SHARD = "20KB"  # several shards for these sizes


def main():
    out = sys.argv[1]
    for name, fields in CONFIGS.items():
        torch.manual_seed(1234)
        config = LlamaConfig(**fields, bos_token_id=1, eos_token_id=2, attn_implementation="eager")
        model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32).eval()
        with torch.no_grad():
            for n, p in model.named_parameters():
                if "norm" in n:
                    p.add_(0.3 * torch.randn_like(p))
        model.save_pretrained(os.path.join(out, name + "-safetensors"))
        model.save_pretrained(os.path.join(out, name + "-bin"), safe_serialization=False)
        model.save_pretrained(os.path.join(out, name + "-safetensors-sharded"), max_shard_size=SHARD)
        model.save_pretrained(os.path.join(out, name + "-bin-sharded"), max_shard_size=SHARD,
                              safe_serialization=False)
        for layout in ("safetensors-sharded", "bin-sharded"):
            index = [f for f in os.listdir(os.path.join(out, name + "-" + layout)) if f.endswith(".index.json")]
            assert len(index) == 1, "%s-%s: expected a sharded save" % (name, layout)

        tokens = torch.randint(0, config.vocab_size, (2, 29), generator=torch.Generator().manual_seed(7))
        with torch.no_grad():
            logits = model(input_ids=tokens).logits.float()
        save_file({"tokens": tokens.to(torch.int32), "logits": logits.contiguous()},
                  os.path.join(out, name + "-expected.safetensors"))

    for option, value in REFUSED.items():
        config = LlamaConfig(**CONFIGS["gqa"], **value)
        AutoModelForCausalLM.from_config(config).save_pretrained(os.path.join(out, "refused-" + option))


if __name__ == "__main__":
    main()
