"""Adapters as PEFT writes them, and their logits as transformers + PEFT compute them, for longlora.

usage: peft_writes_adapter.py BASE_DIR TOKENS.bin OUT_DIR

Writes three adapter directories for the base model, each with PEFT's own save_pretrained (LoRA
r 4, alpha 8 on q/k/v/o, every lora_B random so that the adapter changes the model):
  OUT_DIR/longlora_st/       adapter_model.safetensors, plus LongLoRA's trainable_params.bin
                             (torch.save of the embedding and every norm, perturbed, under HF names)
  OUT_DIR/longlora_bin/      the same with save_pretrained(safe_serialization=False): adapter_model.bin
  OUT_DIR/modules_to_save/   LoraConfig(modules_to_save=["embed_tokens", "norm"]) with the wrapped
                             copies perturbed: PEFT's own form, nothing beside it
and for each DIR, OUT_DIR/DIR.expected.safetensors with the model re-loaded from DIR as LongLoRA's
scripts and PEFT do (base.load_state_dict(torch.load(trainable_params.bin), strict=False) when
there is one, then PeftModel.from_pretrained(base, DIR)):
  tokens [1, 128] int32  the first 128 tokens of TOKENS.bin (headerless uint16)
  logits [1, 128, V]     f32
  loss [1]               the mean of the window losses of LongLoRA's eval.py at seq_len 128 (windows
                         at 0, 256, ... < len - 128, the last start dropped; each window's loss the
                         mean over its 127 next-token predictions): `longlora eval` must find
                         perplexity exp(loss)
"""
import os
import sys

import numpy as np
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.utils.other import ModulesToSaveWrapper
from safetensors.torch import save_file
from transformers import AutoModelForCausalLM

SEQ_LEN = 128


def base_model(base_dir):
    return AutoModelForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32).eval()


def lora_config(**extra):
    return LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
                      task_type="CAUSAL_LM", **extra)


def randomize_lora_b(model, g):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.copy_(0.05 * torch.randn(p.shape, generator=g))


def perturbed(weight, name, g):
    """A trained-looking embedding or norm: the base's plus noise."""
    noise = torch.randn(weight.shape, generator=g)
    return weight + 0.05 * noise if "embed" in name else weight * (1 + 0.1 * noise)


def write_longlora_forms(base_dir, out, g):
    model = get_peft_model(base_model(base_dir), lora_config())
    randomize_lora_b(model, g)
    hf = model.base_model.model
    trainable = {n: perturbed(p.detach(), n, g).contiguous() for n, p in hf.named_parameters()
                 if "embed" in n or "norm" in n}
    for kind, safe in (("longlora_st", True), ("longlora_bin", False)):
        d = os.path.join(out, kind)
        model.save_pretrained(d, safe_serialization=safe)
        torch.save(trainable, os.path.join(d, "trainable_params.bin"))


def write_modules_to_save_form(base_dir, out, g):
    model = get_peft_model(base_model(base_dir), lora_config(modules_to_save=["embed_tokens", "norm"]))
    randomize_lora_b(model, g)
    wrapped = [(n, m) for n, m in model.named_modules() if isinstance(m, ModulesToSaveWrapper)]
    if len(wrapped) != 2 + 2 * model.config.num_hidden_layers:
        raise SystemExit(f"modules_to_save wrapped {[n for n, _ in wrapped]}")
    with torch.no_grad():
        for name, m in wrapped:
            w = m.modules_to_save["default"].weight
            w.copy_(perturbed(w, name, g))
    model.save_pretrained(os.path.join(out, "modules_to_save"))


def reloaded(base_dir, d):
    base = base_model(base_dir)
    trainable = os.path.join(d, "trainable_params.bin")
    if os.path.exists(trainable):
        base.load_state_dict(torch.load(trainable, weights_only=True), strict=False)
    return PeftModel.from_pretrained(base, d).eval()


def eval_py_loss(model, data):
    starts = list(range(0, len(data) - SEQ_LEN, 256))
    starts.pop()
    losses = []
    with torch.no_grad():
        for s in starts:
            x = torch.from_numpy(data[s:s + SEQ_LEN].astype(np.int64))[None]
            losses.append(model(input_ids=x, labels=x).loss.item())
    return float(np.mean(losses))


def main():
    base_dir, tokens_path, out = sys.argv[1:4]
    data = np.fromfile(tokens_path, dtype=np.uint16)
    g = torch.Generator().manual_seed(12)
    write_longlora_forms(base_dir, out, g)
    write_modules_to_save_form(base_dir, out, g)
    tokens = torch.from_numpy(data[:SEQ_LEN].astype(np.int64))[None]
    for kind in ("longlora_st", "longlora_bin", "modules_to_save"):
        model = reloaded(base_dir, os.path.join(out, kind))
        with torch.no_grad():
            logits = model(input_ids=tokens).logits
        loss = eval_py_loss(model, data)
        save_file({"tokens": tokens.to(torch.int32), "logits": logits.float().contiguous(),
                   "loss": torch.tensor([loss], dtype=torch.float32)},
                  os.path.join(out, f"{kind}.expected.safetensors"))
        print(f"{kind}: {sorted(os.listdir(os.path.join(out, kind)))}, eval.py loss {loss:.6f}")


if __name__ == "__main__":
    main()
