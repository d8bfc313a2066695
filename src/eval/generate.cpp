#include "eval/generate.h"

#include "core/progress.h"
#include "model/forward.h"

namespace ll {

std::vector<int32_t> generate(const LlamaModel& model, const std::vector<int32_t>& prompt,
                              const GenerateOptions& options, const std::function<void(int32_t)>& on_token,
                              GenerateStats* stats) {
  if (prompt.empty()) fail_input("generate", "the prompt has no tokens");
  const int64_t V = model.config().vocab_size;
  KVCache cache(model.config(), static_cast<int64_t>(prompt.size()) + options.max_new_tokens, model.backend(),
                options.kv_cache.value_or(default_kv_cache_dtype(model.precision())));
  Arena arena(model.backend(), 0);
  Sampler sampler(options.sampling);
  std::vector<float> logits(static_cast<size_t>(V));
  GenerateStats s;
  s.prompt_tokens = static_cast<int64_t>(prompt.size());

  Stopwatch clock;
  forward_cached(model, cache, prompt.data(), s.prompt_tokens, logits.data(), arena);
  s.prompt_seconds = clock.seconds();
  clock.restart();
  std::vector<int32_t> out;
  for (int64_t i = 0; i < options.max_new_tokens; ++i) {
    const int32_t next = sampler.next(logits.data(), static_cast<int>(V));
    out.push_back(next);
    if (on_token) on_token(next);
    if (options.stop_at_eos && next == model.config().eos_token_id) {
      s.stopped_at_eos = true;
      break;
    }
    if (i + 1 < options.max_new_tokens) forward_cached(model, cache, &next, 1, logits.data(), arena);
  }
  s.generate_seconds = clock.seconds();
  s.new_tokens = static_cast<int64_t>(out.size());
  if (stats) *stats = s;
  return out;
}

}  // namespace ll
