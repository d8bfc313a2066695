#include "model/memory_plan.h"

#include <algorithm>
#include <cstdio>
#include <string>

#include "backend/cpu_backend.h"
#include "formats/llama_tensors.h"
#include "model/forward.h"
#include "model/train_step.h"

namespace ll {

namespace {

// The process before and around the model: code and libraries, the tokenizer, the data's
// bookkeeping, oneDNN's primitives and packing buffers, OpenMP's threads. Measured: 12–15 MiB
// with a 512-piece vocabulary, ~20 MiB with LLaMA-2's 32000, plus ~10–20 MiB once the GEMMs ran.
constexpr uint64_t kProcessBytes = uint64_t{36} << 20;

// The weights as the checkpoint stores them: mapped, every page read once the model runs.
uint64_t stored_weight_bytes(const LlamaConfig& config, DType weight_dtype) {
  uint64_t elements = 0;
  for (const ExpectedTensor& e : llama_expected_tensors(config)) {
    uint64_t n = 1;
    for (int64_t d : e.shape) n *= static_cast<uint64_t>(d);
    elements += n;
  }
  return elements * dtype_size(weight_dtype);
}

// A model of `config`'s shapes on a measuring CPU backend: what building it allocates is counted.
struct DryModel {
  std::unique_ptr<Backend> backend;
  std::unique_ptr<LlamaModel> model;

  DryModel(const LlamaConfig& config, DType weight_dtype, Precision precision, int threads)
      : backend(make_measuring_cpu_backend(threads)) {
    ModelOptions options;
    options.backend = backend.get();
    options.precision = precision;
    options.rope_factor = config.rope_factor;
    model = std::make_unique<LlamaModel>(ModelFiles::shapes_only(config, weight_dtype), options);
  }
  const CpuBackend& cpu() const { return static_cast<const CpuBackend&>(*backend); }

  // Bytes of the weights' copies the GEMMs read (GemmWeight::copy), LoRA's included.
  uint64_t gemm_copy_bytes() const {
    uint64_t bytes = 0;
    auto add = [&](const GemmWeight& w) { bytes += w.owns_copy() ? w.copy.view().nbytes() : 0; };
    for (const LlamaLayerWeights& w : model->layers)
      for (const Linear* lin : {&w.q, &w.k, &w.v, &w.o, &w.gate, &w.up, &w.down}) add(lin->weight);
    add(model->lm_head.weight);
    for (const LoraAdapter* a : model->lora_adapters()) {
      add(a->gemm_A);
      add(a->gemm_B);
    }
    return bytes;
  }
};

TrainableOptions trainable_options(const TrainingShape& shape) {
  TrainableOptions t;
  t.full = shape.full;
  t.lora_enabled = shape.lora_r > 0;
  t.lora.rank = std::max<int64_t>(shape.lora_r, 1);
  t.lora.targets = shape.lora_targets;
  t.lora.dropout = shape.lora_dropout ? 0.1 : 0.0;  // any p > 0 makes the same allocations
  t.extra = shape.trainable;
  return t;
}

// One training pass of `shape` on the dry model (made trainable, with AdamW's moments): returns the
// arena's high-water mark.
uint64_t dry_training_pass(DryModel& dry, const TrainingShape& shape) {
  LlamaModel& model = *dry.model;
  model.make_trainable(trainable_options(shape));
  model.store().allocate_moments();
  MeasuringMemory arena_memory(dry.backend->device());
  Arena arena(arena_memory, 0);
  TrainBatch batch;
  batch.layout.B = shape.batch_size;
  batch.layout.T = shape.context;
  batch.layout.lengths.assign(static_cast<size_t>(shape.batch_size), shape.context);
  // No ids: the dry pass only takes memory for them, and holding B·T of them here would touch
  // gigabytes for the huge contexts the plan exists to refuse.
  TrainPassOptions pass;
  pass.checkpointing = shape.checkpointing;
  pass.keep_attention = shape.keep_attention;
  pass.dropout.training = true;
  forward_backward(model, batch, pass, arena);
  return arena.high_water();
}

}  // namespace

uint64_t MemoryPlan::total() const {
  uint64_t t = 0;
  for (const auto& p : parts) t += p.second;
  return t;
}

MemoryPlan plan_inference(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                          int threads, DType kv_cache) {
  DryModel dry(config, weight_dtype, precision, threads);
  const uint64_t gemm_copies = dry.gemm_copy_bytes();
  KVCache cache(dry.model->config(), context, *dry.backend, kv_cache);
  MeasuringMemory arena_memory(dry.backend->device());
  Arena arena(arena_memory, 0);
  std::vector<int32_t> prompt(static_cast<size_t>(context), 0);
  std::vector<float> logits(static_cast<size_t>(config.vocab_size));
  forward_cached(*dry.model, cache, prompt.data(), context, logits.data(), arena);
  const uint64_t others = dry.cpu().measured_peak() - gemm_copies - cache.bytes();

  MemoryPlan plan;
  plan.parts.push_back({"weights (mapped)", stored_weight_bytes(config, weight_dtype)});
  plan.parts.push_back({"weights converted for the GEMMs", gemm_copies});
  plan.parts.push_back({std::string("KV cache (") + dtype_name(kv_cache) + ")", cache.bytes()});
  plan.parts.push_back({"activations (prefill chunks, arena)", arena.high_water()});
  plan.parts.push_back({"f32 norms, RoPE table", others});
  return plan;
}

uint64_t training_arena_bytes(const LlamaConfig& config, DType weight_dtype, Precision precision,
                              const TrainingShape& shape, int threads) {
  DryModel dry(config, weight_dtype, precision, threads);
  return dry_training_pass(dry, shape);
}

MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision,
                         const TrainingShape& shape, int threads) {
  DryModel dry(config, weight_dtype, precision, threads);
  const uint64_t arena = dry_training_pass(dry, shape);
  const uint64_t gemm_copies = dry.gemm_copy_bytes();
  const uint64_t store = 4 * static_cast<uint64_t>(dry.model->store().elements()) * sizeof(float);
  MemoryPlan plan;
  plan.parts.push_back({"process (code, libraries, tokenizer, oneDNN)", kProcessBytes});
  plan.parts.push_back({"weights (mapped)", stored_weight_bytes(config, weight_dtype)});
  plan.parts.push_back({"weights converted for the GEMMs", gemm_copies});
  plan.parts.push_back({"trained f32 masters, gradients, AdamW m and v", store});
  plan.parts.push_back({"activations and gradients (arena)", arena});
  plan.parts.push_back({"f32 norms, RoPE table", dry.cpu().measured_peak() - gemm_copies - store});
  // --full ends by exporting the model (model/hf_export.cpp): the f32 masters converted back to
  // the stored dtype, all held until the files are written.
  if (shape.full && weight_dtype != DType::F32)
    plan.parts.push_back({"model export (masters in the stored dtype)", stored_weight_bytes(config, weight_dtype)});
  return plan;
}

MemoryPlan plan_training(const LlamaConfig& config, DType weight_dtype, Precision precision, int64_t context,
                         int threads) {
  TrainingShape shape;
  shape.context = context;
  return plan_training(config, weight_dtype, precision, shape, threads);
}

int64_t largest_context(uint64_t memory, const std::function<uint64_t(int64_t)>& need, int64_t step,
                        int64_t limit) {
  LL_CHECK(step > 0 && limit >= step);
  auto fits = [&](int64_t steps) { return need(steps * step) <= memory; };
  if (!fits(1)) return 0;
  // fits(lo) and (hi > limit/step or !fits(hi)); then bisect between them.
  int64_t lo = 1, hi = 2;
  const int64_t max_steps = limit / step;
  while (hi <= max_steps && fits(hi)) {
    lo = hi;
    hi *= 2;
  }
  hi = std::min(hi, max_steps + 1);
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo * step;
}

std::optional<uint64_t> parse_byte_size(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!(value >= 0) || text.find_first_not_of("0123456789.") < used) return std::nullopt;  // no sign, exponent
  std::string unit = text.substr(used);
  const double kibi = 1024, kilo = 1000;
  double scale = 0;
  if (unit.empty() || unit == "B") scale = 1;
  else if (unit == "K" || unit == "KiB") scale = kibi;
  else if (unit == "M" || unit == "MiB") scale = kibi * kibi;
  else if (unit == "G" || unit == "GiB") scale = kibi * kibi * kibi;
  else if (unit == "T" || unit == "TiB") scale = kibi * kibi * kibi * kibi;
  else if (unit == "kB" || unit == "KB") scale = kilo;
  else if (unit == "MB") scale = kilo * kilo;
  else if (unit == "GB") scale = kilo * kilo * kilo;
  else if (unit == "TB") scale = kilo * kilo * kilo * kilo;
  else return std::nullopt;
  const double bytes = value * scale;
  if (bytes >= 0x1p63) return std::nullopt;
  return static_cast<uint64_t>(bytes);
}

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (b >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.2f GiB", b / (1024.0 * 1024 * 1024));
  else if (b >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.1f MiB", b / (1024.0 * 1024));
  else if (b >= 1024.0) std::snprintf(buf, sizeof buf, "%.1f KiB", b / 1024.0);
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace ll
