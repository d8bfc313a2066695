"""A PEFT LoRA adapter and LongLoRA trainable_params written the ways PEFT and LongLoRA write them,
and the logits of base + adapter computed as transformers + PEFT + LongLoRA do.

usage: peft_oracle.py OUT_DIR
OUT_DIR/model/          a tiny random HF LLaMA (vocab 131)
OUT_DIR/st/             adapter_config.json + adapter_model.safetensors + trainable_params.safetensors
OUT_DIR/bin/            adapter_config.json + adapter_model.bin + trainable_params.bin (torch.save)
OUT_DIR/expected.safetensors  tokens [1, T] and logits [1, T, 132]
As LongLoRA's eval/merge scripts: resize_token_embeddings(vocab + 1) with the new rows set to the
mean of the old ones (smart_tokenizer_and_embedding_resize), then load trainable_params (a trained
[132, C] embedding and norms), then the LoRA adapter (scale lora_alpha / r) on q/k/v/o.
"""
import json
import os
import sys

import torch

import llama_ref
import safetensors_io


def main():
    out = sys.argv[1]
    cfg = llama_ref.config_dict(hidden=60, inter=97, layers=2, heads=6, kv_heads=2, vocab=131, max_pos=32)
    w = llama_ref.random_weights(cfg, 31)
    llama_ref.save_hf(os.path.join(out, "model"), cfg, w)

    g = torch.Generator().manual_seed(32)
    r, alpha = 4, 8
    adapter, modules = {}, []
    for l in range(cfg["num_hidden_layers"]):
        for proj, o in [("q_proj", 60), ("k_proj", 20), ("v_proj", 20), ("o_proj", 60)]:
            m = f"model.layers.{l}.self_attn.{proj}"
            modules.append(m)
            adapter[f"base_model.model.{m}.lora_A.weight"] = torch.randn(r, 60, generator=g) * 0.2
            adapter[f"base_model.model.{m}.lora_B.weight"] = torch.randn(o, r, generator=g) * 0.2
    trainable = {"model.embed_tokens.weight": torch.randn(132, 60, generator=g),
                 "model.norm.weight": 1 + 0.1 * torch.randn(60, generator=g)}
    for l in range(cfg["num_hidden_layers"]):
        trainable[f"model.layers.{l}.input_layernorm.weight"] = 1 + 0.1 * torch.randn(60, generator=g)
    config = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": r, "lora_alpha": alpha, "lora_dropout": 0.05,
              "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"], "bias": "none", "fan_in_fan_out": False,
              "base_model_name_or_path": os.path.join(out, "model"), "inference_mode": True}
    for kind in ("st", "bin"):
        d = os.path.join(out, kind)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "adapter_config.json"), "w") as f:
            json.dump(config, f)
        if kind == "st":
            safetensors_io.save(os.path.join(d, "adapter_model.safetensors"), adapter)
            safetensors_io.save(os.path.join(d, "trainable_params.safetensors"), trainable)
        else:
            torch.save(adapter, os.path.join(d, "adapter_model.bin"))
            torch.save(trainable, os.path.join(d, "trainable_params.bin"))

    # The model as the scripts assemble it, in float64.
    torch.set_default_dtype(torch.float64)
    wd = {k: v.double() for k, v in w.items()}
    wd["lm_head.weight"] = torch.cat([wd["lm_head.weight"], wd["lm_head.weight"].mean(0, keepdim=True)])
    for k, v in trainable.items():
        wd[k] = v.double()
    cfg["vocab_size"] = 132
    scale = alpha / r

    def lora(name, x):
        a = adapter.get(f"base_model.model.{name}.lora_A.weight")
        if a is None:
            return 0
        return scale * (x @ a.double().t()) @ adapter[f"base_model.model.{name}.lora_B.weight"].double().t()

    tokens = torch.tensor([[1, 5, 131, 77, 3, 100, 42, 131, 9, 64, 120, 7, 0, 58, 130]])
    logits = llama_ref.forward(cfg, wd, tokens, lora=lora)
    safetensors_io.save(os.path.join(out, "expected.safetensors"),
                        {"tokens": tokens.to(torch.int32), "logits": logits.float()})


if __name__ == "__main__":
    main()
