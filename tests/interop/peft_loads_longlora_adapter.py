"""PEFT restores the adapter directory `longlora train` writes, LoRA and trained embed/norm alike.

usage: peft_loads_longlora_adapter.py BASE_DIR ADAPTER_DIR EXPECTED.safetensors

EXPECTED holds tokens [1, T] (int32) and longlora's logits for them [1, T, V] (f32), computed by
longlora with ADAPTER_DIR applied. Checks, with transformers + PEFT from build/venv:
  1. PeftModel.from_pretrained(base, ADAPTER_DIR) alone: the modules adapter_config.json's
     modules_to_save names (the embedding and every norm) are PEFT ModulesToSaveWrappers holding
     exactly the values of ADAPTER_DIR/trainable_params.bin; every lora_B is non-zero; the logits
     equal longlora's (max |difference| / max |longlora's| < 1e-4).
  2. LongLoRA's scripts' way (eval.py, merge_lora_weights_and_save_hf_model.py):
     base.load_state_dict(torch.load(trainable_params.bin), strict=False), then
     PeftModel.from_pretrained: the same logits.
  3. The comparison can fail: with the wrapped copies reset to the base's weights (LoRA alone) the
     logits differ from longlora's by more than 1e-3.
Exits 1 naming the first failed check.
"""
import os
import sys

import torch
from peft import PeftModel
from peft.utils.other import ModulesToSaveWrapper
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM


def relative_error(got, want):
    got, want = got.double(), want.double()
    return ((got - want).abs().max() / want.abs().max()).item()


def base_model(base_dir):
    return AutoModelForCausalLM.from_pretrained(base_dir, torch_dtype=torch.float32).eval()


def logits_of(model, tokens):
    with torch.no_grad():
        return model(input_ids=tokens).logits


def main():
    base_dir, adapter_dir, expected_path = sys.argv[1:4]
    expected = load_file(expected_path)
    tokens, want = expected["tokens"].long(), expected["logits"]
    trained = torch.load(os.path.join(adapter_dir, "trainable_params.bin"), weights_only=True)

    # 1. PEFT alone.
    model = PeftModel.from_pretrained(base_model(base_dir), adapter_dir).eval()
    wrapped = {name: m for name, m in model.base_model.model.named_modules() if isinstance(m, ModulesToSaveWrapper)}
    if sorted(f"{name}.weight" for name in wrapped) != sorted(trained):
        raise SystemExit(f"PEFT wrapped {sorted(wrapped)}, but trainable_params.bin holds {sorted(trained)}")
    for name, m in wrapped.items():
        if not torch.equal(m.modules_to_save["default"].weight, trained[f"{name}.weight"]):
            raise SystemExit(f"{name}: PEFT restored other values than trainable_params.bin holds")
    lora_b = [(n, p) for n, p in model.named_parameters() if "lora_B" in n]
    if not lora_b or any(p.abs().max().item() == 0 for _, p in lora_b):
        raise SystemExit("a lora_B is zero (or none was loaded): the adapter was not trained or not restored")
    error = relative_error(logits_of(model, tokens), want)
    print(f"PeftModel.from_pretrained: {len(lora_b)} LoRA pairs, {len(wrapped)} modules_to_save, "
          f"relative error {error:.2e}")
    if not error < 1e-4:
        raise SystemExit(f"PEFT's logits differ from longlora's: relative error {error:.3e}")

    # 2. LongLoRA's scripts.
    base = base_model(base_dir)
    base.load_state_dict(trained, strict=False)
    scripted = PeftModel.from_pretrained(base, adapter_dir).eval()
    error = relative_error(logits_of(scripted, tokens), want)
    print(f"trainable_params.bin + PeftModel.from_pretrained: relative error {error:.2e}")
    if not error < 1e-4:
        raise SystemExit(f"LongLoRA's way gives other logits than longlora: relative error {error:.3e}")

    # 3. Sensitivity: LoRA without the trained embed/norm.
    with torch.no_grad():
        for m in wrapped.values():
            m.modules_to_save["default"].weight.copy_(m.original_module.weight)
    error = relative_error(logits_of(model, tokens), want)
    print(f"LoRA alone: relative error {error:.2e}")
    if not error > 1e-3:
        raise SystemExit(f"the trained embed/norm barely matter ({error:.3e}): the check above cannot fail")


if __name__ == "__main__":
    main()
