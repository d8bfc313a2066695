"""Reads longlora's GGUF files with llama.cpp's own Python reader (gguf-py's GGUFReader) and checks
them against what llama.cpp's converters would write, for llama_cpp_test.cpp. Tensor names come
from gguf-py's own HF → GGUF name map and q/k rows are permuted the way convert_hf_to_gguf.py does,
so nothing here trusts longlora's naming or layout code.

  gguf_check.py adapter --gguf A.gguf --peft DIR --base BASE.gguf --dtype f32|f16|bf16
      A llama.cpp LoRA adapter: exactly general.architecture, general.type "adapter", adapter.type
      "lora", adapter.lora.alpha (f32: llama.cpp scales by alpha / r, so adapter_config.json's
      lora_alpha, times √r for rsLoRA); per PEFT pair
      "<gguf weight>.lora_a" [r, in] and ".lora_b" [out, r] in `dtype`, data equal to the PEFT
      tensors (B's q/k rows permuted), rounded as gguf-py rounds.

  gguf_check.py model --gguf M.gguf --base BASE.gguf --peft DIR [--trainable FILE] --dtype T
                      --context-length N --rope-factor F [--reference-f32 M32.gguf]
      A merged llama.cpp model: llama.* hyper-parameters equal to the base's (context_length N,
      linear rope scaling F when F != 1), the base's vocabulary, general.file_type for T; the same
      tensors as BASE (names, shapes; norms f32, the rest T). f32: every tensor equals the base's,
      or the run's trained value (--trainable, HF names), or base + alpha/r · B·A (to 1e-6 of the
      tensor's largest weight: longlora's GEMM rounds differently from numpy). f16/bf16: exactly --reference-f32 rounded by
      gguf-py's quantize().

  gguf_check.py info --base BASE.gguf --info INFO.txt
      `longlora info --model BASE.gguf` output (INFO.txt) against GGUFReader and llama.cpp itself
      (llama_cpp's model queries): layers, sizes, heads, vocabulary, trained context, parameters.

Prints one line per check group; exits 1 listing every mismatch.
"""
import argparse
import json
import os
import re
import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, LlamaFileType, MODEL_ARCH, get_tensor_name_map
from gguf.quants import quantize
from safetensors.numpy import load_file

V = GGUFValueType
QTYPE = {"f32": GGMLQuantizationType.F32, "f16": GGMLQuantizationType.F16, "bf16": GGMLQuantizationType.BF16}
FILE_TYPE = {"f32": LlamaFileType.ALL_F32, "f16": LlamaFileType.MOSTLY_F16, "bf16": LlamaFileType.MOSTLY_BF16}
PEFT_PREFIX = "base_model.model."

errors = []


def check(ok, what):
    if not ok:
        errors.append(what)
    return ok


def field_value(field):
    """A metadata field as (value type, Python value); arrays as (ARRAY, element type, list)."""
    t = field.types[0]
    if t == V.ARRAY:
        elems = [field.parts[i] for i in field.data]
        if field.types[1] == V.STRING:
            return t, field.types[1], [bytes(e).decode("utf-8") for e in elems]
        return t, field.types[1], [e[0].item() for e in elems]
    part = field.parts[field.data[0]]
    return t, (bytes(part).decode("utf-8") if t == V.STRING else part[0].item())


def metadata(reader):
    return {k: field_value(f) for k, f in reader.fields.items() if not k.startswith("GGUF.")}


def check_metadata(meta, expected, where, exact_keys):
    """expected: key -> (type, value) or (ARRAY, element type, list); floats compare as f32."""
    for key, want in expected.items():
        if not check(key in meta, f"{where}: metadata key '{key}' missing"):
            continue
        got = meta[key]
        if not check(got[:-1] == want[:-1], f"{where}: '{key}' has type {got[:-1]}, expected {want[:-1]}"):
            continue
        if want[0] == V.FLOAT32:
            check(np.float32(got[-1]) == np.float32(want[-1]), f"{where}: '{key}' = {got[-1]}, expected {want[-1]}")
        else:
            check(got[-1] == want[-1], f"{where}: '{key}' = {str(got[-1])[:80]}, expected {str(want[-1])[:80]}")
    if exact_keys:
        extra = sorted(set(meta) - set(expected))
        check(not extra, f"{where}: unexpected metadata keys {extra}")


def tensors(reader):
    return {t.name: t for t in reader.tensors}


def as_f32(t):
    """A tensor's data as row-major f32 (shape = reversed ne)."""
    shape = tuple(int(n) for n in reversed(t.shape))
    if t.tensor_type == GGMLQuantizationType.BF16:
        return (np.array(t.data).view(np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return np.array(t.data, dtype=np.float32).reshape(shape)


def raw(t):
    return np.array(t.data).view(np.uint8).reshape(-1)


def base_hparams(base):
    meta = metadata(base)
    return {
        "layers": meta["llama.block_count"][1],
        "heads": meta["llama.attention.head_count"][1],
        "kv_heads": meta["llama.attention.head_count_kv"][1],
        "meta": meta,
    }


def permute(w, heads):
    """HF rotate-half rows → GGUF interleaved pairs, as convert_hf_to_gguf.py's LlamaModel.permute."""
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def rope_heads(hf_name, hp):
    if ".q_proj." in hf_name:
        return hp["heads"]
    if ".k_proj." in hf_name:
        return hp["kv_heads"]
    return 0


def gguf_name(name_map, hf_weight):
    name = name_map.get_name(hf_weight, try_suffixes=(".weight",))
    check(name is not None, f"gguf-py has no GGUF name for '{hf_weight}'")
    return name


def lora_pairs(peft_dir):
    """module (HF, without .weight) -> (A [r, in], B [out, r]) from a PEFT adapter directory."""
    w = load_file(os.path.join(peft_dir, "adapter_model.safetensors"))
    pairs = {}
    for name, a in w.items():
        if name.endswith(".lora_A.weight"):
            module = name[len(PEFT_PREFIX):-len(".lora_A.weight")]
            pairs[module] = (a, w[PEFT_PREFIX + module + ".lora_B.weight"])
    return pairs


def llama_cpp_alpha(cfg):
    """llama.cpp scales a pair by alpha / r; PEFT by lora_alpha / r, or lora_alpha / √r with rsLoRA."""
    return cfg["lora_alpha"] * (np.sqrt(cfg["r"]) if cfg.get("use_rslora") else 1.0)


def check_adapter(a):
    reader = GGUFReader(a.gguf)
    hp = base_hparams(GGUFReader(a.base))
    name_map = get_tensor_name_map(MODEL_ARCH.LLAMA, hp["layers"])
    cfg = json.load(open(os.path.join(a.peft, "adapter_config.json")))
    check_metadata(metadata(reader), {
        "general.architecture": (V.STRING, "llama"),
        "general.type": (V.STRING, "adapter"),
        "adapter.type": (V.STRING, "lora"),
        "adapter.lora.alpha": (V.FLOAT32, llama_cpp_alpha(cfg)),
    }, a.gguf, exact_keys=True)

    got = tensors(reader)
    want = {}
    for module, (A, B) in lora_pairs(a.peft).items():
        base = gguf_name(name_map, module + ".weight")
        heads = rope_heads(module + ".", hp)
        want[base + ".lora_a"] = A
        want[base + ".lora_b"] = permute(B, heads) if heads else B
    check(sorted(got) == sorted(want), f"{a.gguf}: tensors {sorted(got)}, expected {sorted(want)}")
    for name, w in want.items():
        if name not in got:
            continue
        t = got[name]
        check(t.tensor_type == QTYPE[a.dtype], f"{name}: type {t.tensor_type.name}, expected {a.dtype}")
        check(list(t.shape) == list(reversed(w.shape)), f"{name}: ne {list(t.shape)}, expected {list(reversed(w.shape))}")
        if check(t.n_elements == w.size, f"{name}: {t.n_elements} elements, expected {w.size}"):
            check(np.array_equal(raw(t), quantize(w.astype(np.float32), QTYPE[a.dtype]).view(np.uint8).reshape(-1)),
                  f"{name}: data differ from the PEFT tensor (converted to {a.dtype})")
    print(f"adapter {os.path.basename(a.gguf)}: {len(got)} tensors, {a.dtype}, alpha {llama_cpp_alpha(cfg)}")


def expected_model_metadata(a, base_meta, vocab):
    m = {
        "general.architecture": (V.STRING, "llama"),
        "general.file_type": (V.UINT32, int(FILE_TYPE[a.dtype])),
        "llama.context_length": (V.UINT32, a.context_length),
        "llama.rope.freq_base": (V.FLOAT32, base_meta.get("llama.rope.freq_base", (V.FLOAT32, 10000.0))[1]),
        "tokenizer.ggml.model": (V.STRING, "llama"),
        "tokenizer.ggml.add_bos_token": (V.BOOL, True),
        "tokenizer.ggml.add_eos_token": (V.BOOL, False),
        "tokenizer.ggml.add_space_prefix": (V.BOOL, True),
    }
    for key in ["embedding_length", "block_count", "feed_forward_length", "attention.head_count",
                "attention.head_count_kv", "attention.layer_norm_rms_epsilon", "rope.dimension_count"]:
        m["llama." + key] = base_meta["llama." + key]
    m["llama.vocab_size"] = (V.UINT32, len(vocab))
    for key in ["tokens", "scores", "token_type", "bos_token_id", "eos_token_id", "unknown_token_id"]:
        m["tokenizer.ggml." + key] = base_meta["tokenizer.ggml." + key]
    if a.rope_factor != 1:
        m["llama.rope.scaling.type"] = (V.STRING, "linear")
        m["llama.rope.scaling.factor"] = (V.FLOAT32, a.rope_factor)
    return m


def check_model(a):
    reader, base = GGUFReader(a.gguf), GGUFReader(a.base)
    hp = base_hparams(base)
    meta = metadata(reader)
    expected = expected_model_metadata(a, hp["meta"], hp["meta"]["tokenizer.ggml.tokens"][2])
    check_metadata(meta, expected, a.gguf, exact_keys=False)
    extra = sorted(set(meta) - set(expected) - {"general.name"})
    check(not extra, f"{a.gguf}: unexpected metadata keys {extra}")
    check(meta.get("general.name", (None,))[0] == V.STRING, f"{a.gguf}: general.name is not a string")

    got, base_t = tensors(reader), tensors(base)
    check(sorted(got) == sorted(base_t), f"{a.gguf}: tensors {sorted(set(got) ^ set(base_t))} differ from the base's")
    for name, bt in base_t.items():
        if name not in got:
            continue
        t = got[name]
        want_type = GGMLQuantizationType.F32 if len(bt.shape) == 1 else QTYPE[a.dtype]
        check(t.tensor_type == want_type, f"{name}: type {t.tensor_type.name}, expected {want_type.name}")
        check(list(t.shape) == list(bt.shape), f"{name}: ne {list(t.shape)}, expected {list(bt.shape)}")

    if a.dtype == "f32":
        check_merged_values(a, got, base_t, hp)
    else:
        ref = tensors(GGUFReader(a.reference_f32))
        for name, t in got.items():
            want = quantize(as_f32(ref[name]), t.tensor_type).view(np.uint8).reshape(-1)
            check(np.array_equal(raw(t), want), f"{name}: data differ from the f32 export rounded to {t.tensor_type.name}")
    print(f"model {os.path.basename(a.gguf)}: {len(got)} tensors, {a.dtype}, context_length {a.context_length}, "
          f"rope factor {a.rope_factor}")


def load_tensors(path):
    """A safetensors file, or a torch.save file (LongLoRA's trainable_params.bin), as numpy arrays."""
    if not path.endswith(".bin"):
        return load_file(path)
    import torch
    return {name: t.numpy() for name, t in torch.load(path, map_location="cpu", weights_only=True).items()}


def check_merged_values(a, got, base_t, hp):
    """f32 merged tensors against base + the run, built here from the run's own files."""
    name_map = get_tensor_name_map(MODEL_ARCH.LLAMA, hp["layers"])
    want = {name: as_f32(t) for name, t in base_t.items()}
    exact = set(want)
    if a.trainable:
        for hf_name, w in load_tensors(a.trainable).items():
            name = gguf_name(name_map, hf_name)
            heads = rope_heads(hf_name, hp)
            want[name] = (permute(w, heads) if heads else w).astype(np.float32)
    cfg = json.load(open(os.path.join(a.peft, "adapter_config.json")))
    scale = cfg["lora_alpha"] / (np.sqrt(cfg["r"]) if cfg.get("use_rslora") else cfg["r"])
    for module, (A, B) in lora_pairs(a.peft).items():
        name = gguf_name(name_map, module + ".weight")
        heads = rope_heads(module + ".", hp)
        delta = scale * (B.astype(np.float64) @ A.astype(np.float64))
        want[name] = (want[name] + (permute(delta, heads) if heads else delta)).astype(np.float32)
        exact.discard(name)
    changed = 0
    for name, w in want.items():
        if name not in got:
            continue
        g = as_f32(got[name])
        changed += not np.array_equal(g, as_f32(base_t[name]))
        if name in exact:
            check(np.array_equal(g, w), f"{name}: data differ from the expected (base or trained) values")
        else:
            err = np.max(np.abs(g - w)) / np.max(np.abs(w))
            delta = np.max(np.abs(w - as_f32(base_t[name]))) / np.max(np.abs(w))
            check(err < 1e-6, f"{name}: error {err:.3g} (of the largest weight) against base + alpha/r·B·A")
            check(delta > 1e-3, f"{name}: the LoRA delta is too small ({delta:.3g}) for this check to see it")
    check(changed > 0, f"{a.gguf}: every tensor equals the base's: the run changed nothing")
    print(f"  {changed} of {len(want)} tensors differ from the base, each as the run says")


def check_info(a):
    import llama_cpp

    info = open(a.info, encoding="utf-8").read()
    meta = base_hparams(GGUFReader(a.base))["meta"]
    llm = llama_cpp.Llama(model_path=a.base, n_ctx=64, verbose=False)
    m = llm.model
    lc = {
        "layers": llama_cpp.llama_model_n_layer(m),
        "hidden": llama_cpp.llama_model_n_embd(m),
        "heads": llama_cpp.llama_model_n_head(m),
        "kv_heads": llama_cpp.llama_model_n_head_kv(m),
        "vocab": llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(m)),
        "context": llama_cpp.llama_model_n_ctx_train(m),
        "params": llama_cpp.llama_model_n_params(m),
    }
    reader = {
        "layers": meta["llama.block_count"][1],
        "hidden": meta["llama.embedding_length"][1],
        "ffn": meta["llama.feed_forward_length"][1],
        "heads": meta["llama.attention.head_count"][1],
        "kv_heads": meta["llama.attention.head_count_kv"][1],
        "vocab": len(meta["tokenizer.ggml.tokens"][2]),
        "context": meta["llama.context_length"][1],
    }
    for key in lc:
        if key in reader:
            check(lc[key] == reader[key], f"llama.cpp says {key} {lc[key]}, GGUFReader {reader[key]}")

    def grab(pattern):
        found = re.search(pattern, info)
        check(found is not None, f"longlora info: no match for /{pattern}/ in:\n{info}")
        return [int(g) for g in found.groups()] if found else None

    arch = grab(r"\(LlamaForCausalLM\), (\d+) layers, hidden (\d+), FFN (\d+), vocab (\d+)")
    if arch:
        check(arch == [reader["layers"], reader["hidden"], reader["ffn"], reader["vocab"]],
              f"longlora info says layers/hidden/FFN/vocab {arch}")
    attn = grab(r"(\d+) heads of dim (\d+), (\d+) KV heads")
    if attn:
        check(attn == [reader["heads"], reader["hidden"] // reader["heads"], reader["kv_heads"]],
              f"longlora info says heads/dim/KV heads {attn}")
    ctx = grab(r"trained context (\d+)")
    if ctx:
        check(ctx[0] == lc["context"], f"longlora info says trained context {ctx[0]}, llama.cpp {lc['context']}")
    params = grab(r"parameters: +(\d+)")
    if params:
        check(params[0] == lc["params"], f"longlora info says {params[0]} parameters, llama.cpp {lc['params']}")
    print(f"info: longlora, GGUFReader and llama.cpp agree: {lc}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    ad = sub.add_parser("adapter")
    md = sub.add_parser("model")
    for s in (ad, md):
        s.add_argument("--gguf", required=True)
        s.add_argument("--base", required=True)
        s.add_argument("--peft", required=True)
        s.add_argument("--dtype", choices=sorted(QTYPE), required=True)
    md.add_argument("--trainable")
    md.add_argument("--context-length", type=int, required=True)
    md.add_argument("--rope-factor", type=float, required=True)
    md.add_argument("--reference-f32")
    info = sub.add_parser("info")
    info.add_argument("--base", required=True)
    info.add_argument("--info", required=True)
    a = p.parse_args()
    {"adapter": check_adapter, "model": check_model, "info": check_info}[a.what](a)
    if errors:
        print(f"{len(errors)} mismatches:\n  " + "\n  ".join(errors[:40]), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
