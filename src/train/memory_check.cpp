#include "train/memory_check.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/threads.h"

namespace ll {

namespace {

// The first whitespace-separated number in `path` (memory.max, memory.current, …); nullopt when
// the file is missing or holds no number ("max": no limit).
std::optional<uint64_t> read_number(const std::string& path) {
  std::ifstream in(path);
  uint64_t v = 0;
  if (in >> v) return v;
  return std::nullopt;
}

// The value of `key` in a "key value" file (memory.stat), or of "key: value kB" (meminfo, in bytes).
std::optional<uint64_t> read_field(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string name, unit;
    uint64_t value = 0;
    if (!(words >> name >> value)) continue;
    if (!name.empty() && name.back() == ':') name.pop_back();
    if (name != key) continue;
    return words >> unit && unit == "kB" ? value * 1024 : value;
  }
  return std::nullopt;
}

// limit − (usage − inactive file cache) of the cgroup at `dir`, with the file names of v2 or v1;
// nullopt without a limit.
std::optional<uint64_t> cgroup_room(const std::string& dir, const char* limit_file, const char* usage_file,
                                    const char* inactive_key) {
  const auto limit = read_number(dir + "/" + limit_file);
  if (!limit || *limit >= (uint64_t{1} << 60)) return std::nullopt;  // v1 spells "no limit" as ~2^63
  uint64_t used = read_number(dir + "/" + usage_file).value_or(0);
  // Inactive page cache is reclaimed before the limit bites.
  used -= std::min(used, read_field(dir + "/memory.stat", inactive_key).value_or(0));
  return *limit > used ? *limit - used : 0;
}

std::string flag_value(const char* flag, int64_t value) { return std::string(flag) + " " + std::to_string(value); }

}  // namespace

TrainingShape training_shape(const TrainOptions& o) {
  TrainingShape s;
  s.context = o.context;
  s.batch_size = o.batch_size;
  s.full = o.full;
  s.lora_r = o.lora_r;
  s.lora_targets = o.lora_targets;
  s.trainable = o.trainable;
  s.lora_dropout = o.lora_dropout > 0;
  s.checkpointing = o.checkpointing;
  s.keep_attention = !o.recompute_attention;
  return s;
}

MemoryPlan plan_training_run(const LlamaConfig& config, DType weight_dtype, Precision precision,
                             const TrainOptions& options) {
  const int threads = options.threads > 0 ? static_cast<int>(options.threads) : num_threads();
  return plan_training(config, weight_dtype, precision, training_shape(options), threads);
}

std::optional<AvailableMemory> available_memory(const std::string& meminfo, const std::string& cgroup_root) {
  std::optional<AvailableMemory> best;
  if (const auto bytes = read_field(meminfo, "MemAvailable")) best = AvailableMemory{*bytes, "MemAvailable in " + meminfo};
  const struct {
    std::string dir;
    const char *limit, *usage, *inactive;
  } cgroups[] = {{cgroup_root, "memory.max", "memory.current", "inactive_file"},
                 {cgroup_root + "/memory", "memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"}};
  for (const auto& g : cgroups)
    if (const auto room = cgroup_room(g.dir, g.limit, g.usage, g.inactive); room && (!best || *room < best->bytes))
      best = AvailableMemory{*room, "the cgroup limit " + g.dir + "/" + g.limit + " less the cgroup's usage"};
  return best;
}

void check_training_memory(const MemoryPlan& plan, const TrainOptions& options, const AvailableMemory& available,
                           const std::string& command) {
  const uint64_t need = plan.total();
  if (need <= available.bytes) return;
  auto parts = plan.parts;
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string largest;
  for (size_t i = 0; i < std::min<size_t>(3, parts.size()); ++i)
    largest += (i ? ", " : "") + parts[i].first + " " + format_bytes(parts[i].second);
  std::string change = "lower " + flag_value("--context", options.context);
  if (options.batch_size > 1) change += " or " + flag_value("--batch-size", options.batch_size);
  if (!options.checkpointing) change += ", drop --no-checkpointing (recompute the layers)";
  if (options.checkpointing && !options.recompute_attention)
    change += ", pass --recompute-attention (keep only the layer inputs)";
  if (options.full) change += ", train LoRA instead of --full";
  fail_input(command, "this run needs about " + format_bytes(need) + " of memory at its peak (" + largest +
                          "; `longlora info` prints the whole plan) but only " + format_bytes(available.bytes) +
                          " is available (" + available.source + "). To fit: " + change +
                          "; or pass --no-memory-check to try anyway");
}

}  // namespace ll
