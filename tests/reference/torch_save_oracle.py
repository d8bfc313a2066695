"""Writes torch.save checkpoints, and the values in them, for the C++ .bin reader's tests.

usage: torch_save_oracle.py OUT_DIR

Readable checkpoints, each NAME.bin with NAME.expected.safetensors holding every tensor the
reader must return (contiguous; F64 as F32, I64 as I32 as the reader converts them):
  state.bin        f32/f16/bf16 odd shapes, transposed views, slices sharing one storage at
                   offsets, an nn.Parameter, a scalar, an empty tensor, one tensor under two
                   names, f64 and i64 (converted), plus entries get() must refuse: i64 beyond
                   i32, u8, five dims (not in the expected file)
  ordered.bin      an OrderedDict; proto4.bin and proto5.bin: the same saved with pickle
                   protocols 4 and 5 (FRAME, MEMOIZE, SHORT_BINUNICODE, STACK_GLOBAL)
  adapter_model.bin      PEFT LoRA names (base_model.model.model.layers.N.self_attn.*.lora_A/B)
  trainable_params.bin   LongLoRA's extra trainables: a [32001, C] embedding (the [PAD] row) and
                         norms, in bf16
  comment.bin      ordered.bin rewritten by Python's zipfile with an archive comment: entries
                   no longer 64-byte aligned (ordered.expected.safetensors holds its values)
  hf/              pytorch_model-0000{1,2}-of-00002.bin + pytorch_model.bin.index.json
                   (hf.expected.safetensors)
Files the reader must refuse, none of which may run anything (OUT_DIR/PWNED must never appear):
  evil_system.bin  a state dict holding an object whose __reduce__ is os.system ('posix.system')
  evil_eval.bin    the same with builtins.eval, pickle protocol 4 (STACK_GLOBAL)
  legacy.bin       the pre-1.6 format (_use_new_zipfile_serialization=False)
  list.bin         a list of tensors at the top level
  nested.bin       {'model': state_dict}: a dict inside the dict
  deflated.bin     ordered.bin with deflate-compressed entries
  scripted.pt      a TorchScript module (torch.jit.save)
"""
import collections
import json
import os
import sys
import zipfile

import torch

import safetensors_io

LORA_RANK = 8
HIDDEN = 24


def state_dict(g):
    def randn(*shape, dtype=torch.float32):
        return torch.randn(*shape, generator=g).to(dtype)

    shared = randn(50)
    tied = randn(4, 6).t()
    return {
        "f32.odd": randn(7, 13),
        "f16.odd": randn(5, 3, 9, dtype=torch.float16),
        "bf16.odd": randn(11, dtype=torch.bfloat16),
        "f32.transposed": randn(6, 9).t(),
        "bf16.transposed": randn(5, 7, dtype=torch.bfloat16).t(),
        "f16.permuted": randn(2, 3, 5, dtype=torch.float16).permute(2, 0, 1),
        "shared.whole": shared,
        "shared.slice": shared[7:19].view(3, 4),
        "shared.strided": shared[3::5],
        "param": torch.nn.Parameter(randn(4, 5)),
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
        "tied.a": tied,
        "tied.b": tied,
        "int32": torch.randint(-1000, 1000, (6,), generator=g, dtype=torch.int32),
        "int64": torch.randint(-2**31, 2**31, (2, 5), generator=g, dtype=torch.int64),
        "f64": randn(3, 3, dtype=torch.float64),
        "refused.int64_big": torch.tensor([1, 2**40], dtype=torch.int64),
        "refused.uint8": torch.arange(4, dtype=torch.uint8),
        "refused.five_dims": randn(1, 2, 1, 2, 1),
    }


def expected_of(tensors):
    """What the reader returns: contiguous, F64 -> F32, I64 -> I32, scalars as [1]."""
    out = {}
    for name, t in tensors.items():
        if name.startswith("refused."):
            continue
        t = t.detach()
        if t.dtype == torch.float64:
            t = t.float()
        if t.dtype == torch.int64:
            t = t.int()
        out[name] = t.reshape(1) if t.dim() == 0 else t.contiguous()
    return out


def save_pair(out, name, tensors, **kwargs):
    torch.save(tensors, os.path.join(out, name + ".bin"), **kwargs)
    safetensors_io.save(os.path.join(out, name + ".expected.safetensors"), expected_of(tensors))


def rewrite_zip(src, dst, compression, comment=b""):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
        zout.comment = comment


class Evil:
    """Pickles as a call of `fn(arg)`; unpickling it would run the call."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


class Tiny(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.lin(x)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(1234)

    save_pair(out, "state", state_dict(g))

    ordered = collections.OrderedDict(
        [("z.first", torch.randn(3, 5, generator=g)), ("a.second", torch.randn(17, generator=g).half()),
         ("m.third", torch.randn(2, 2, 3, generator=g).bfloat16())])
    save_pair(out, "ordered", ordered)
    torch.save(ordered, os.path.join(out, "proto4.bin"), pickle_protocol=4)
    torch.save(ordered, os.path.join(out, "proto5.bin"), pickle_protocol=5)

    adapter = {}
    for layer in range(2):
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            base = f"base_model.model.model.layers.{layer}.self_attn.{proj}"
            adapter[base + ".lora_A.weight"] = torch.randn(LORA_RANK, HIDDEN, generator=g).half()
            adapter[base + ".lora_B.weight"] = torch.randn(HIDDEN, LORA_RANK, generator=g).half()
    save_pair(out, "adapter_model", adapter)

    trainable = {"base_model.model.model.embed_tokens.weight": torch.randn(32001, HIDDEN, generator=g).bfloat16(),
                 "base_model.model.model.norm.weight": torch.randn(HIDDEN, generator=g).bfloat16()}
    for layer in range(2):
        for norm in ("input_layernorm", "post_attention_layernorm"):
            trainable[f"base_model.model.model.layers.{layer}.{norm}.weight"] = \
                torch.randn(HIDDEN, generator=g).bfloat16()
    save_pair(out, "trainable_params", trainable)

    rewrite_zip(os.path.join(out, "ordered.bin"), os.path.join(out, "comment.bin"), zipfile.ZIP_STORED,
                comment=b"rewritten by zipfile: entries are no longer 64-byte aligned")
    rewrite_zip(os.path.join(out, "ordered.bin"), os.path.join(out, "deflated.bin"), zipfile.ZIP_DEFLATED)

    hf = os.path.join(out, "hf")
    os.makedirs(hf, exist_ok=True)
    shards = [{"model.embed_tokens.weight": torch.randn(37, 8, generator=g),
               "model.layers.0.self_attn.q_proj.weight": torch.randn(8, 8, generator=g)},
              {"model.norm.weight": torch.randn(8, generator=g), "lm_head.weight": torch.randn(37, 8, generator=g)}]
    weight_map = {}
    for i, shard in enumerate(shards):
        file = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save(shard, os.path.join(hf, file))
        weight_map.update({name: file for name in shard})
    with open(os.path.join(hf, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": weight_map}, f)
    safetensors_io.save(os.path.join(out, "hf.expected.safetensors"), {k: v for s in shards for k, v in s.items()})

    marker = os.path.join(out, "PWNED")
    torch.save({"w": torch.ones(2), "x": Evil(os.system, "touch " + marker)}, os.path.join(out, "evil_system.bin"))
    torch.save({"w": torch.ones(2), "x": Evil(eval, f"open({marker!r}, 'w')")}, os.path.join(out, "evil_eval.bin"),
               pickle_protocol=4)
    torch.save(state_dict(g), os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)
    torch.save([torch.ones(2), torch.ones(3)], os.path.join(out, "list.bin"))
    torch.save({"model": {"w": torch.ones(2)}}, os.path.join(out, "nested.bin"))
    torch.jit.save(torch.jit.script(Tiny()), os.path.join(out, "scripted.pt"))


if __name__ == "__main__":
    main()
