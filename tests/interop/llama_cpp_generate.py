"""Greedy generation with llama.cpp itself (llama-cpp-python's Llama, its greedy sampler), for
llama_cpp_test.cpp to compare with `longlora generate --greedy`.

usage: llama_cpp_generate.py --model M.gguf [--lora A.gguf] [--rope-freq-scale S]
                             (--prompt TEXT | --prompt-file F) --max-tokens N --threads T --n-ctx C --out OUT.json

Weights, KV cache and attention run in f32 (type_k/type_v f32, no flash attention) so that the
only differences from longlora are rounding. Generation stops after N tokens or at EOS (EOS
included), as longlora's does. OUT.json:
  prompt_tokens  llama.cpp's tokenization of the prompt (BOS first)
  tokens         the generated ids
  text           the continuation: llama.cpp's detokenization of prompt + tokens, minus the prompt's
  top2           per generated token, the two best [id, logit] pairs it was chosen from (to tell a
                 near-tie from a real difference when the ids diverge)
  n_ctx_train    llama.cpp's trained context (llama.context_length)
  metadata       the model's GGUF metadata as llama.cpp reports it (scalars, as strings)
"""
import argparse
import json

import llama_cpp
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--lora")
    p.add_argument("--rope-freq-scale", type=float, default=0.0, help="0: the model's own (llama.rope.scaling.*)")
    p.add_argument("--prompt")
    p.add_argument("--prompt-file")
    p.add_argument("--max-tokens", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--n-ctx", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    text = open(a.prompt_file, encoding="utf-8").read() if a.prompt_file else a.prompt

    llm = llama_cpp.Llama(
        model_path=a.model,
        lora_path=a.lora,
        n_ctx=a.n_ctx,
        n_threads=a.threads,
        n_threads_batch=a.threads,
        rope_freq_scale=a.rope_freq_scale,
        type_k=llama_cpp.GGML_TYPE_F32,
        type_v=llama_cpp.GGML_TYPE_F32,
        flash_attn=False,
        logits_all=True,  # keeps every row's logits in llm.scores, for top2
        verbose=False,
    )
    prompt = llm.tokenize(text.encode("utf-8"), add_bos=True)
    if len(prompt) + a.max_tokens > a.n_ctx:
        raise SystemExit(f"--n-ctx {a.n_ctx} is too small for {len(prompt)} prompt + {a.max_tokens} new tokens")

    tokens, top2 = [], []
    for token in llm.generate(prompt, temp=0.0, repeat_penalty=1.0):
        logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)  # the row the token was chosen from
        best = np.argsort(-logits, kind="stable")[:2]
        top2.append([[int(i), float(logits[i])] for i in best])
        tokens.append(int(token))
        if token == llm.token_eos() or len(tokens) == a.max_tokens:
            break

    shown = [t for t in tokens if t != llm.token_eos()]
    whole = llm.detokenize(prompt + shown)
    before = llm.detokenize(prompt)
    assert whole.startswith(before)
    result = {
        "prompt_tokens": prompt,
        "tokens": tokens,
        "text": whole[len(before):].decode("utf-8", errors="replace"),
        "top2": top2,
        "n_ctx_train": llama_cpp.llama_model_n_ctx_train(llm.model),
        "metadata": llm.metadata,
    }
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump(result, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
