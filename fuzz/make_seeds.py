"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/ (kept in the repository;
run again only to change them). Small, valid (or nearly valid) inputs of each format, so the
fuzzers start from the interesting paths. Needs /usr/bin/python3 with torch (torch.save seeds).

    /usr/bin/python3 fuzz/make_seeds.py [--fuzz-build build-fuzz] [--shared ../shared/data]

--fuzz-build also takes fuzz_checkpoint_state's seed: the state.json its fixture writes with
save_run_checkpoint (the target is started on an empty corpus and stopped once the file exists).
--shared copies the stories260K tokenizer.model (MIT) as a seed.
"""
import argparse
import io
import json
import os
import pickle
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- safetensors ---------------------------------------------------------------------------------

def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes)."""
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def seeds_safetensors():
    put("safetensors", "three_dtypes.safetensors", safetensors(
        [("a", "F32", [2, 3], f32(1, -2, 3.5, 0.25, -0.5, 7)),
         ("b", "BF16", [3], struct.pack("<3H", 0x3F80, 0xC000, 0x4049)),
         ("c", "I32", [2, 2], struct.pack("<4i", 1, -1, 7, 9))], {"format": "pt"}))
    put("safetensors", "f16_scalar_empty.safetensors", safetensors(
        [("s", "F16", [], struct.pack("<H", 0x3C00)), ("e", "F32", [0, 4], b""),
         ("h", "F16", [1, 2], struct.pack("<2H", 0x4000, 0xBC00))]))
    put("safetensors", "unsupported_f64.safetensors", safetensors(
        [("d", "F64", [2], struct.pack("<2d", 1.5, -2.5)), ("x", "F32", [1], f32(3))]))


def seeds_shard_index():
    # The target's directory holds a.safetensors {x: [2,2], y: [2]} and b.safetensors {z: [1,3]}.
    put("shard_index", "index.json", json.dumps(
        {"metadata": {"total_size": 36},
         "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}, indent=2))
    put("shard_index", "one_shard.json", json.dumps({"weight_map": {"z": "b.safetensors"}}))
    put("shard_index", "missing_shard.json", json.dumps({"weight_map": {"x": "c.safetensors"}}))


# ---- GGUF ----------------------------------------------------------------------------------------

GGUF_U32, GGUF_I32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY, GGUF_U64 = 4, 5, 6, 7, 8, 9, 10


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gguf_value(kind, value):
    if kind == GGUF_U32:
        return struct.pack("<I", value)
    if kind == GGUF_I32:
        return struct.pack("<i", value)
    if kind == GGUF_F32:
        return struct.pack("<f", value)
    if kind == GGUF_BOOL:
        return struct.pack("<B", value)
    if kind == GGUF_U64:
        return struct.pack("<Q", value)
    if kind == GGUF_STRING:
        return gguf_string(value)
    elem, items = value
    return struct.pack("<IQ", elem, len(items)) + b"".join(gguf_value(elem, v) for v in items)


def gguf(metadata, tensors, version=3, alignment=32):
    """metadata: list of (key, kind, value); tensors: list of (name, ne list, ggml type, raw)."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, kind, value in metadata:
        out += gguf_string(key) + struct.pack("<I", kind) + gguf_value(kind, value)
    offset, blobs = 0, b""
    for name, ne, ggml_type, raw in tensors:
        out += gguf_string(name) + struct.pack("<I", len(ne)) + struct.pack("<%dQ" % len(ne), *ne)
        out += struct.pack("<IQ", ggml_type, offset)
        pad = (-len(raw)) % alignment
        blobs += raw + b"\0" * pad
        offset += len(raw) + pad
    out += b"\0" * ((-len(out)) % alignment)
    return out + blobs


def llama_vocab():
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    pieces += ["\u2581", "e", "t", "h", "th", "the", "\u2581the", "a", "n", "an"]
    types = [2, 3, 3] + [6] * 256 + [1] * 10
    scores = [0.0] * 259 + [-float(i) for i in range(10)]
    return pieces, types, scores


def seeds_gguf():
    pieces, types, scores = llama_vocab()
    C, L, F, H = 8, 1, 12, 2
    meta = [("general.architecture", GGUF_STRING, "llama"), ("general.alignment", GGUF_U32, 32),
            ("llama.embedding_length", GGUF_U32, C), ("llama.block_count", GGUF_U32, L),
            ("llama.feed_forward_length", GGUF_U32, F), ("llama.attention.head_count", GGUF_U32, H),
            ("llama.attention.head_count_kv", GGUF_U32, 1), ("llama.context_length", GGUF_U32, 64),
            ("llama.attention.layer_norm_rms_epsilon", GGUF_F32, 1e-5),
            ("llama.rope.freq_base", GGUF_F32, 10000.0), ("llama.rope.dimension_count", GGUF_U32, C // H),
            ("tokenizer.ggml.model", GGUF_STRING, "llama"),
            ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, pieces)),
            ("tokenizer.ggml.scores", GGUF_ARRAY, (GGUF_F32, scores)),
            ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_I32, types)),
            ("tokenizer.ggml.bos_token_id", GGUF_U32, 1), ("tokenizer.ggml.eos_token_id", GGUF_U32, 2),
            ("tokenizer.ggml.add_space_prefix", GGUF_BOOL, 1)]
    V = len(pieces)
    tensors = [("token_embd.weight", [C, V], 0, f32(*[((i * 7) % 13 - 6) / 16 for i in range(C * V)])),
               ("blk.0.attn_q.weight", [C, C], 1, struct.pack("<%dH" % (C * C), *[0x3C00 + i for i in range(C * C)])),
               ("output_norm.weight", [C], 0, f32(*[1.0] * C))]
    put("gguf", "llama_vocab_v3.gguf", gguf(meta, tensors))
    put("gguf", "small_v2.gguf", gguf(meta[:3] + [("x.u64", GGUF_U64, 5)], tensors[2:], version=2))
    put("gguf", "bf16_and_q4.gguf", gguf(
        [("general.architecture", GGUF_STRING, "llama")],
        [("a", [4, 2], 30, struct.pack("<8H", *range(0x3F80, 0x3F88))), ("q", [32], 2, b"\1" * 18)]))


# ---- JSON configs --------------------------------------------------------------------------------

def seeds_configs():
    base = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
            "intermediate_size": 172, "num_hidden_layers": 5, "num_attention_heads": 8,
            "num_key_value_heads": 4, "vocab_size": 512, "max_position_embeddings": 512,
            "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "rope_scaling": None, "hidden_act": "silu",
            "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
    put("hf_config", "stories260K.json", json.dumps(base, indent=2))
    scaled = dict(base, rope_scaling={"type": "linear", "factor": 4.0}, head_dim=8, tie_word_embeddings=True)
    put("hf_config", "linear_scaling.json", json.dumps(scaled))
    put("hf_config", "architectures_only.json", json.dumps(
        {k: v for k, v in base.items() if k not in ("model_type", "num_key_value_heads")}))

    adapter = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "base", "r": 8,
               "lora_alpha": 16, "lora_dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj"],
               "bias": "none", "fan_in_fan_out": False, "inference_mode": True, "use_rslora": False}
    put("adapter_config", "peft.json", json.dumps(adapter, indent=2))
    put("adapter_config", "rslora_mlp.json", json.dumps(
        dict(adapter, use_rslora=True, lora_alpha=3.5, target_modules=["gate_proj", "up_proj", "down_proj"])))


# ---- pickles and torch.save ----------------------------------------------------------------------

def seeds_pickles():
    import collections
    values = [None, True, 7, -300, 1 << 40, 1 << 70, 2.5, "text", "\u2581 \u00e9", (1, 2), (1, 2, 3, 4),
              [1, [2, [3]]], {"a": 1, "b": (None,)}, collections.OrderedDict(a=1)]
    for protocol in (2, 4, 5):
        put("pickle", "plain_p%d.pkl" % protocol, pickle.dumps(values, protocol=protocol))
    shared = [1, 2]
    put("pickle", "memo.pkl", pickle.dumps({"x": shared, "y": shared}, protocol=2))

    import torch
    state = collections.OrderedDict()
    state["w"] = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 7
    state["wt"] = state["w"].t()  # non-contiguous: copied at open
    state["b"] = torch.tensor([1.5, -2.0], dtype=torch.bfloat16)
    state["h"] = torch.tensor([0.5], dtype=torch.float16)
    state["i"] = torch.tensor([3, -4], dtype=torch.int64)
    state["d"] = torch.tensor([0.125], dtype=torch.float64)
    buf = io.BytesIO()
    torch.save(state, buf)
    put("torch_bin", "state_dict.bin", buf.getvalue())
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        name = next(n for n in z.namelist() if n.endswith("data.pkl"))
        put("pickle", "torch_data.pkl", z.read(name))
    buf = io.BytesIO()
    torch.save({"p": torch.nn.Parameter(torch.ones(2, 2))}, buf)
    put("torch_bin", "parameter.bin", buf.getvalue())


# ---- training data -------------------------------------------------------------------------------

def seeds_data(shared):
    examples = [{"instruction": "Summarise the text.", "input": "The thin hen ate.", "output": "A hen ate."},
                {"instruction": "Say hello", "output": "hello there, then"},
                {"instruction": "x" * 40, "output": "too long a prompt"}]
    put("sft_json", "long_alpaca.json", json.dumps(examples, indent=1))
    put("sft_json", "one.json", json.dumps(examples[1:2]))

    put("pretrain_data", "docs.jsonl", "\n".join(json.dumps({"text": t}) for t in
                                                      ["the then than", "", "a hat\nthe heat", "\u00e9\u2581"]) + "\n")
    put("pretrain_data", "text.txt", "The hen ate the thin tan hat. " * 4)
    put("pretrain_data", "tokens.u16", struct.pack("<24H", *[(i * 37) % 270 for i in range(24)]))

    if shared:
        put("tokenizer_model", "stories260K.model",
            open(os.path.join(shared, "stories260K-hf/tokenizer.model"), "rb").read())


# ---- tokenizer.json --------------------------------------------------------------------------------

def byte_level_chars():
    """GPT-2's bytes_to_unicode(): the character standing for each byte."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, extra = {}, 0
    for b in range(256):
        if b in printable:
            chars[b] = chr(b)
        else:
            chars[b] = chr(256 + extra)
            extra += 1
    return chars


def added(token_id, content, special=True, **flags):
    token = {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": special}
    token.update(flags)
    return token


def template(bos, bos_id):
    return {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {bos: {"id": bos, "ids": [bos_id], "tokens": [bos]}}}


def seeds_tokenizer_json():
    chars = byte_level_chars()
    spell = lambda s: "".join(chars[b] for b in s.encode())
    vocab = {chars[b]: b for b in range(256)}
    merges = [("H", "e"), ("l", "l"), ("He", "ll"), ("Hell", "o"), (" ", "w"), ("o", "r"), (" w", "or"), ("l", "d"),
              ("'", "S"), ("1", "2")]
    for left, right in merges:
        vocab[spell(left + right)] = len(vocab)
    n = len(vocab)
    llama3_regex = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                    r"\s*[\r\n]+|\s+(?!\S)|\s+")
    byte_level = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(n, "<s>"), added(n + 1, "</s>"), added(n + 2, "<mask>", lstrip=True)],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": llama3_regex}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}, template("<s>", n)]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": True,
                  "vocab": vocab, "merges": [[spell(a), spell(b)] for a, b in merges]}}
    put("tokenizer_json", "byte_level.json", json.dumps(byte_level, ensure_ascii=False))

    space = "\u2581"
    pieces = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)] + [space, "a", "b", "l", "o", "w",
                                                                                space + "a", "lo", space + "lo", "ab"]
    sp_merges = [(space, "a"), ("l", "o"), (space, "lo"), ("a", "b")]
    sentencepiece_style = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": space}, {"type": "Replace", "pattern": {"String": " "}, "content": space}]},
        "pre_tokenizer": None,
        "post_processor": template("<s>", 1),
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": space}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": {p: i for i, p in enumerate(pieces)}, "merges": ["%s %s" % m for m in sp_merges]}}
    put("tokenizer_json", "sentencepiece_style.json", json.dumps(sentencepiece_style, ensure_ascii=False))
    metaspace = dict(sentencepiece_style, normalizer=None,
                     pre_tokenizer={"type": "Metaspace", "replacement": space, "prepend_scheme": "first", "split": True},
                     decoder={"type": "Metaspace", "replacement": space, "prepend_scheme": "first", "split": True})
    put("tokenizer_json", "metaspace.json", json.dumps(metaspace, ensure_ascii=False))


def seed_checkpoint_state(fuzz_build):
    """Starts fuzz_checkpoint_state on an empty corpus, copies the state.json its fixture wrote,
    and stops it."""
    binary = os.path.join(fuzz_build, "fuzz", "checkpoint_state")
    with tempfile.TemporaryDirectory() as empty:
        p = subprocess.Popen([binary, "-max_total_time=60", empty], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        path = "/dev/shm/longlora-fuzz-%d/fixture/checkpoints/step-2/state.json" % p.pid
        deadline = time.time() + 60
        while not os.path.exists(path) and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
        data = open(path, "rb").read()
        p.kill()
        p.wait()
        shutil.rmtree("/dev/shm/longlora-fuzz-%d" % p.pid, ignore_errors=True)
    put("checkpoint_state", "state.json", data)
    state = json.loads(data)
    state["data_cursor"] = {"epoch": 3}
    put("checkpoint_state", "other_cursor.json", json.dumps(state))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fuzz-build")
    ap.add_argument("--shared")
    a = ap.parse_args()
    seeds_safetensors()
    seeds_shard_index()
    seeds_gguf()
    seeds_configs()
    seeds_pickles()
    seeds_data(a.shared)
    seeds_tokenizer_json()
    if a.fuzz_build:
        seed_checkpoint_state(a.fuzz_build)
    return 0


if __name__ == "__main__":
    sys.exit(main())
