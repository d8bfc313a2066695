#include "formats/safetensors_writer.h"

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/safetensors.h"

namespace ll {

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> seen;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    LL_CHECK(name != "__metadata__" && seen.insert(name).second);
    LL_CHECK(t.ndim >= 1 && t.is_contiguous() && (t.data != nullptr || t.numel() == 0));
    std::vector<int64_t> shape(t.shape, t.shape + t.ndim);
    header[name] = {{"dtype", safetensors_dtype_name(t.dtype)},
                    {"shape", shape},
                    {"data_offsets", {offset, offset + t.nbytes()}}};
    offset += t.nbytes();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  const uint64_t header_len = text.size();  // written little-endian (x86-64 native order)

  AtomicFileWriter out(path);
  out.write(&header_len, 8);
  out.write(text.data(), text.size());
  for (const auto& [name, t] : tensors) out.write(t.data, t.nbytes());
  out.commit();
}

namespace {

std::string shard_name(const std::string& prefix, size_t index, size_t count) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "-%05zu-of-%05zu", index + 1, count);
  return prefix + buf + ".safetensors";
}

void remove_if_exists(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  if (ec) fail_input(path, "cannot remove stale file: " + ec.message());
}

}  // namespace

std::vector<std::string> write_safetensors_sharded(const std::string& dir, const std::string& prefix,
                                                   const NamedTensors& tensors, uint64_t max_shard_bytes,
                                                   const std::map<std::string, std::string>& metadata) {
  LL_CHECK(max_shard_bytes > 0);
  const std::string single_path = dir + "/" + prefix + ".safetensors";
  const std::string index_path = single_path + ".index.json";

  // Split in order: start a new shard when the next tensor would overflow the current one.
  std::vector<NamedTensors> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0;
  for (const auto& named : tensors) {
    const uint64_t n = named.second.nbytes();
    if (!shards.back().empty() && shard_bytes + n > max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(named);
    shard_bytes += n;
    total_bytes += n;
  }

  if (shards.size() == 1) {
    write_safetensors(single_path, tensors, metadata);
    remove_if_exists(index_path);
    return {single_path};
  }

  std::vector<std::string> written;
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string name = shard_name(prefix, i, shards.size());
    write_safetensors(dir + "/" + name, shards[i], metadata);
    for (const auto& [tensor_name, t] : shards[i]) weight_map[tensor_name] = name;
    written.push_back(dir + "/" + name);
  }
  nlohmann::ordered_json index = {{"metadata", {{"total_size", total_bytes}}}, {"weight_map", weight_map}};
  write_text_file_atomic(index_path, index.dump(2) + "\n");
  remove_if_exists(single_path);
  written.push_back(index_path);
  return written;
}

}  // namespace ll
