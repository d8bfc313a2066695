// Sliding-window attention (Mistral's sliding_window; Qwen2's with use_sliding_window) is not
// implemented. An attention in which no query attends to more than `sliding_window` positions
// (itself included) is unaffected by the window, so such runs go ahead: S²-Attn groups ≤ the window,
// eval and inference contexts ≤ the window. Anything that would let a query attend past it is refused
// with an InputError naming config.json and sliding_window, before it computes anything.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/attention/attention.h"
#include "model/layer.h"
#include "model/llama_model.h"

namespace ll {

// span: the most positions one query of the run attends to; what: the run, for the message
// ("eval at context 8192"). model_path: the model directory whose config.json `config` is.
void check_sliding_window(const LlamaConfig& config, const std::string& model_path, int64_t span,
                          const std::string& what);
// On a model of a measuring backend (the memory plan's dry runs) nothing is checked.
void check_sliding_window(const LlamaModel& model, int64_t span, const std::string& what);

// The same for a pass over `batch` under `mask` (max_attention_span over its rows).
void check_sliding_window(const LlamaModel& model, const BatchLayout& batch, const AttentionMask& mask);

}  // namespace ll
