// Exports for llama.cpp:
//   a LoRA adapter GGUF (llama.cpp's --lora format, as its convert_lora_to_gguf.py writes it):
//     general.type "adapter", adapter.type "lora", adapter.lora.alpha; per adapted projection
//     "<gguf weight name>.lora_a" [r, in] and ".lora_b" [out, r] (row-major; ggml ne reversed), the
//     q/k B rows permuted into GGUF's interleaved RoPE order;
//   a whole model GGUF (the merged model, for what an adapter cannot carry: LongLoRA's trained
//     embeddings and norms): llama.* hyper-parameters incl. linear rope scaling, the `llama`
//     tokenizer vocabulary, weights in f32/f16/bf16 (norms f32), q/k rows interleaved.
#pragma once
#include <string>

#include "model/llama_model.h"
#include "text/vocab.h"

namespace ll {

// The model's LoRA adapters (model.lora_adapters(), e.g. from apply_adapter) as a llama.cpp adapter.
// llama.cpp scales each pair by adapter.lora.alpha / r (r = the pair's rank), so the alpha written
// is the adapters' own scale · r: PEFT's lora_alpha, or lora_alpha · √r for an rsLoRA adapter.
// Returns that alpha.
double write_gguf_lora_adapter(const std::string& path, const LlamaModel& model, DType dtype);

// The model's current weights (LlamaModel::current_weight) as a llama.cpp model. `vocab` is the
// tokenizer's; when the model's vocabulary is larger (LongLoRA's [PAD] row), the extra ids get
// control pieces "[PAD]", "[PAD1]", ….
void write_gguf_model(const std::string& path, const LlamaModel& model, const Vocab& vocab, DType dtype,
                      const std::string& name);

}  // namespace ll
