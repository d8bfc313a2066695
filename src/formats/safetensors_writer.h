// safetensors writers: one file, or a sharded set with the index transformers reads.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ll {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes `tensors` (contiguous f32/f16/bf16/i32 views, distinct names) to `path` in the given
// order, header padded with spaces to a multiple of 8, atomically (temporary + rename). Tensor
// bytes are streamed from the views; the file is never assembled in memory.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes `tensors` into directory `dir` as transformers does: `<prefix>.safetensors` when their
// bytes total at most `max_shard_bytes`, else shards `<prefix>-00001-of-0000N.safetensors` (filled
// in order, a new shard whenever the next tensor would overflow the limit; a tensor larger than
// the limit gets a shard of its own) plus `<prefix>.safetensors.index.json` holding
// metadata.total_size and weight_map. The index is written last; a stale single file or index
// left by an earlier write of the other kind is removed so that readers see the new one.
// Returns the paths written (index last).
std::vector<std::string> write_safetensors_sharded(const std::string& dir, const std::string& prefix,
                                                   const NamedTensors& tensors, uint64_t max_shard_bytes,
                                                   const std::map<std::string, std::string>& metadata = {});

}  // namespace ll
