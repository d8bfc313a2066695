"""transformers' half of tests/interop/families_test.cpp: tiny random checkpoints of the model families
longlora runs (Llama 3, Mistral, Qwen2, LLaMA with attention biases), written by transformers itself, and
transformers' logits, loss and gradients on them.

  families.py make CASE DIR T [T_LONG]
      DIR/model                 the checkpoint: from_config with a fixed seed, every weight redrawn so that
                                none is at a trivial value (biases, norms), f32, save_pretrained (safetensors)
      DIR/tokens.bin            T random token ids, uint16 (LongLoRA's token-file format)
      DIR/tokens_long.bin       T_LONG more (when given), for runs past the sliding window or the context
      DIR/expected.safetensors  tokens [T] i32, logits [T, V] f32, and grad.<name> for every parameter:
                                the gradients of the mean next-token loss (transformers' labels=input_ids)
      DIR/expected.json         {"loss": the same loss, "inv_freq": the rotary embedding's frequencies}
  families.py logits MODEL_DIR TOKENS_BIN OUT
      OUT (safetensors): logits [T, V] of a directory longlora wrote (merge), loaded by AutoModelForCausalLM;
      prints "loaded as <class>"
"""
import json
import os
import sys

import numpy as np
import torch
import transformers
from safetensors.torch import save_file


def config_for(case):
    common = dict(vocab_size=512, hidden_size=64, intermediate_size=88, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2)
    if case == "llama3":  # Llama 3.1's RoPE, its original context shrunk so that all three bands occur
        return transformers.LlamaConfig(
            max_position_embeddings=256, rope_theta=500000.0, tie_word_embeddings=False,
            rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                          "original_max_position_embeddings": 64}, **common)
    if case == "mistral":
        return transformers.MistralConfig(max_position_embeddings=1024, sliding_window=64, rope_theta=10000.0,
                                          **common)
    if case == "qwen2":  # as Qwen2-0.5B: tied embeddings, theta 1e6, no sliding window
        return transformers.Qwen2Config(max_position_embeddings=512, rope_theta=1000000.0, tie_word_embeddings=True,
                                        use_sliding_window=False, sliding_window=32, max_window_layers=1, **common)
    if case == "llama-bias":
        return transformers.LlamaConfig(max_position_embeddings=256, attention_bias=True, **common)
    raise SystemExit(f"unknown case {case}")


def redraw(model, seed):
    """Every parameter at a value that matters: matrices N(0, 0.1), norms 1 + N(0, 0.1), biases N(0, 0.3)
    (transformers initialises biases to zero and norms to one, which would hide a bias or norm ignored)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=g)
            if name.endswith("bias"):
                p.copy_(0.3 * noise)
            elif p.dim() == 1:
                p.copy_(1 + 0.1 * noise)
            else:
                p.copy_(0.1 * noise)


def write_tokens(path, ids):
    np.asarray(ids, dtype="<u2").tofile(path)


def make(case, out, T, T_long=0):
    torch.manual_seed(1234)
    config = config_for(case)
    config._attn_implementation = "eager"
    model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    redraw(model, 4321)
    model.eval()
    model.save_pretrained(os.path.join(out, "model"), safe_serialization=True)

    g = torch.Generator().manual_seed(99)
    tokens = torch.randint(3, config.vocab_size, (T,), generator=g)
    write_tokens(os.path.join(out, "tokens.bin"), tokens.tolist())
    if T_long:
        write_tokens(os.path.join(out, "tokens_long.bin"),
                     torch.randint(3, config.vocab_size, (T_long,), generator=g).tolist())

    ids = tokens[None, :]
    out_ = model(input_ids=ids, labels=ids)
    out_.loss.backward()
    tensors = {"tokens": tokens.to(torch.int32), "logits": out_.logits[0].detach().contiguous()}
    for name, p in model.named_parameters():
        tensors["grad." + name] = p.grad.detach().contiguous()
    save_file(tensors, os.path.join(out, "expected.safetensors"))
    inv_freq = model.model.rotary_emb.inv_freq if hasattr(model.model, "rotary_emb") else \
        model.model.layers[0].self_attn.rotary_emb.inv_freq
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"loss": out_.loss.item(), "inv_freq": inv_freq.tolist()}, f)


def logits(model_dir, tokens_bin, out):
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir, torch_dtype=torch.float32,
                                                              attn_implementation="eager")
    model.eval()
    ids = torch.from_numpy(np.fromfile(tokens_bin, dtype="<u2").astype(np.int64))[None, :]
    with torch.no_grad():
        result = model(input_ids=ids).logits[0].contiguous()
    save_file({"logits": result}, out)
    print("loaded as", type(model).__name__)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "make":
        make(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif cmd == "logits":
        logits(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        raise SystemExit(__doc__)
