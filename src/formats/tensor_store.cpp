#include "formats/tensor_store.h"

#include <filesystem>

#include "core/error.h"
#include "formats/json_file.h"

namespace ll {

namespace fs = std::filesystem;

TensorStore TensorStore::open_file(const std::string& path) {
  TensorStore store;
  store.source_ = path;
  store.files_.push_back(std::make_unique<SafetensorsFile>(path));
  for (const auto& e : store.files_.back()->entries()) store.location_[e.name] = store.files_.back().get();
  return store;
}

TensorStore TensorStore::open_hf_dir(const std::string& dir) {
  const std::string single = dir + "/model.safetensors";
  if (fs::exists(single)) {
    TensorStore store = open_file(single);
    store.source_ = dir;
    return store;
  }
  const std::string index_path = single + ".index.json";
  if (!fs::exists(index_path))
    fail_input(dir, "no model.safetensors or model.safetensors.index.json in this directory");

  const nlohmann::json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map"))
    fail_input(index_path, "missing field 'weight_map'");
  const nlohmann::json& weight_map = index["weight_map"];
  if (!weight_map.is_object() || weight_map.empty())
    fail_expected(index_path, "weight_map", "a non-empty object of tensor name -> shard file",
                  weight_map.dump().substr(0, 80));

  TensorStore store;
  store.source_ = dir;
  std::map<std::string, const SafetensorsFile*> shard_by_name;
  for (const auto& [tensor, shard_value] : weight_map.items()) {
    if (!shard_value.is_string())
      fail_expected(index_path, "weight_map['" + tensor + "']", "a shard file name", shard_value.dump());
    const std::string shard = shard_value.get<std::string>();
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..")
      fail_expected(index_path, "weight_map['" + tensor + "']", "a file name in the same directory",
                    "\"" + shard + "\"");
    auto it = shard_by_name.find(shard);
    if (it == shard_by_name.end()) {
      const std::string shard_path = dir + "/" + shard;
      if (!fs::exists(shard_path))
        fail_input(index_path, "weight_map['" + tensor + "']: shard file " + shard_path + " does not exist");
      store.files_.push_back(std::make_unique<SafetensorsFile>(shard_path));
      it = shard_by_name.emplace(shard, store.files_.back().get()).first;
    }
    if (!it->second->has(tensor))
      fail_input(index_path, "tensor '" + tensor + "' is listed in weight_map but missing from its shard " +
                                 it->second->path());
    store.location_[tensor] = it->second;
  }
  return store;
}

const SafetensorsFile& TensorStore::file_holding(const std::string& name) const {
  const auto it = location_.find(name);
  if (it == location_.end()) fail_input("", "missing tensor '" + name + "' in " + source_);
  return *it->second;
}

const TensorEntry& TensorStore::entry(const std::string& name) const {
  return *file_holding(name).find(name);
}

Tensor TensorStore::get(const std::string& name) const { return file_holding(name).tensor(name); }

Tensor TensorStore::get(const std::string& name, std::initializer_list<int64_t> expected_shape) const {
  return get(name, std::vector<int64_t>(expected_shape));
}

Tensor TensorStore::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const TensorEntry& e = entry(name);
  if (e.shape != expected_shape)
    fail_input("tensor '" + name + "' in " + file_of(name),
               "expected shape " + shape_string(expected_shape) + ", found " + shape_string(e.shape));
  return get(name);
}

std::vector<std::string> TensorStore::names() const {
  std::vector<std::string> names;
  names.reserve(location_.size());
  for (const auto& [name, file] : location_) names.push_back(name);
  return names;
}

std::string TensorStore::file_of(const std::string& name) const { return file_holding(name).path(); }

}  // namespace ll
