#include "model/sliding_window.h"

#include <algorithm>

#include "core/error.h"

namespace ll {

void check_sliding_window(const LlamaConfig& c, const std::string& model_path, int64_t span,
                          const std::string& what) {
  if (c.sliding_window == 0 || span <= c.sliding_window) return;
  const std::string window = std::to_string(c.sliding_window);
  fail_input(model_path + "/config.json",
             "sliding_window: this " + std::string(model_type_name(c.family)) + " model lets a query attend to " +
                 window + " positions at most, and longlora does not implement sliding-window attention; " + what +
                 " would attend to " + std::to_string(span) + " (keep contexts, prompts and S²-Attn groups ≤ " +
                 window + ")");
}

void check_sliding_window(const LlamaModel& model, int64_t span, const std::string& what) {
  // The memory plan's dry runs plan what was asked; the run itself refuses it.
  if (model.backend().measuring()) return;
  check_sliding_window(model.config(), model.files().path(), span, what);
}

void check_sliding_window(const LlamaModel& model, const BatchLayout& batch, const AttentionMask& mask) {
  int64_t span = 0;
  for (int64_t b = 0; b < batch.B; ++b) {
    const int64_t len = batch.lengths.empty() ? batch.T : batch.lengths[static_cast<size_t>(b)];
    span = std::max(span, max_attention_span(mask, len));
  }
  check_sliding_window(model, span, std::string("attention (") + attention_mode_name(mask.mode) + ") over " +
                                        std::to_string(batch.T) + " tokens");
}

}  // namespace ll
