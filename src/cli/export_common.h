// What merge and export share: the base model with a trained run applied, the output dtype flag,
// and the tokenizer of a checkpoint as data.
#pragma once
#include <memory>
#include <string>

#include "cli/args.h"
#include "model/llama_model.h"
#include "text/vocab.h"

namespace ll::cli {

// --model (default: the adapter's base_model_name_or_path) at f32 with --adapter applied and, when
// `merge`, folded into the weights; the RoPE factor is --rope-factor, else the run's.
std::unique_ptr<LlamaModel> open_merged_model(const Args& args, bool merge = true);
// "f32" / "f16" / "bf16"; InputError naming --out-dtype otherwise.
DType parse_weight_dtype(const std::string& s);
// The checkpoint's vocabulary: its tokenizer.model, or the GGUF's embedded one.
Vocab vocab_of(const ModelFiles& files);
// A tokenizer.model (serialised SentencePiece ModelProto) for a GGUF checkpoint's vocabulary.
std::string serialized_tokenizer_of(const ModelFiles& files);

}  // namespace ll::cli
