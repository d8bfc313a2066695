// Whether a training run fits in the memory this machine has, decided before its weights are
// loaded: the run's plan (model/memory_plan.h plan_training, what `longlora info` prints) against
// MemAvailable and the cgroup's memory limit. A run that cannot fit is refused up front with the
// prediction and what to change, instead of being killed halfway (README "Guarantees").
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "model/memory_plan.h"
#include "train/train_options.h"

namespace ll {

// The memory-relevant part of `options` (its effective context: open_training_model fills it in).
TrainingShape training_shape(const TrainOptions& options);

// The peak memory of a run of `options` at `precision` on a model with this config and dtype.
MemoryPlan plan_training_run(const LlamaConfig& config, DType weight_dtype, Precision precision,
                             const TrainOptions& options);

struct AvailableMemory {
  uint64_t bytes = 0;
  std::string source;  // where the figure comes from, for messages
};

// What this process may still use: MemAvailable (/proc/meminfo), or less where a cgroup memory
// limit (v2 memory.max, v1 memory.limit_in_bytes) minus the cgroup's usage leaves less. The files
// are parameters for tests. nullopt when neither can be read.
std::optional<AvailableMemory> available_memory(const std::string& meminfo = "/proc/meminfo",
                                                const std::string& cgroup_root = "/sys/fs/cgroup");

// InputError (exit 2) when `plan` needs more than `available`: the message names `command`, the
// prediction and its largest parts, the memory available and where that figure comes from, and
// the options that lower the need (--context, --batch-size, checkpointing, LoRA instead of
// --full, --no-memory-check to try anyway).
void check_training_memory(const MemoryPlan& plan, const TrainOptions& options, const AvailableMemory& available,
                           const std::string& command);

}  // namespace ll
