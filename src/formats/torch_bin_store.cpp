#include "formats/torch_bin_store.h"

#include <filesystem>

#include "core/error.h"
#include "formats/json_file.h"

namespace ll {

namespace fs = std::filesystem;

TorchBinStore TorchBinStore::open_file(const std::string& path) {
  TorchBinStore store;
  store.source_ = path;
  store.files_.push_back(std::make_unique<TorchBinFile>(TorchBinFile::open(path)));
  for (const std::string& name : store.files_.back()->names()) store.location_[name] = store.files_.back().get();
  return store;
}

TorchBinStore TorchBinStore::open_hf_dir(const std::string& dir) {
  const std::string single = dir + "/pytorch_model.bin";
  if (fs::exists(single)) {
    TorchBinStore store = open_file(single);
    store.source_ = dir;
    return store;
  }
  const std::string index_path = single + ".index.json";
  if (!fs::exists(index_path))
    fail_input(dir, "no pytorch_model.bin or pytorch_model.bin.index.json in this directory");

  const nlohmann::json index = read_json_file(index_path);
  if (!index.is_object() || !index.contains("weight_map")) fail_input(index_path, "missing field 'weight_map'");
  const nlohmann::json& weight_map = index["weight_map"];
  if (!weight_map.is_object() || weight_map.empty())
    fail_expected(index_path, "weight_map", "a non-empty object of tensor name -> shard file",
                  weight_map.dump().substr(0, 80));

  TorchBinStore store;
  store.source_ = dir;
  std::map<std::string, const TorchBinFile*> shard_by_name;
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
      store.files_.push_back(std::make_unique<TorchBinFile>(TorchBinFile::open(shard_path)));
      it = shard_by_name.emplace(shard, store.files_.back().get()).first;
    }
    if (!it->second->has(tensor))
      fail_input(index_path,
                 "tensor '" + tensor + "' is listed in weight_map but missing from its shard " + it->second->path());
    store.location_[tensor] = it->second;
  }
  return store;
}

const TorchBinFile& TorchBinStore::file_holding(const std::string& name) const {
  const auto it = location_.find(name);
  if (it == location_.end()) fail_input("", "missing tensor '" + name + "' in " + source_);
  return *it->second;
}

const TensorEntry& TorchBinStore::entry(const std::string& name) const { return file_holding(name).entry(name); }

Tensor TorchBinStore::get(const std::string& name) const { return file_holding(name).get(name); }

Tensor TorchBinStore::get(const std::string& name, std::initializer_list<int64_t> expected_shape) const {
  return get(name, std::vector<int64_t>(expected_shape));
}

Tensor TorchBinStore::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  return file_holding(name).get(name, expected_shape);
}

std::vector<std::string> TorchBinStore::names() const {
  std::vector<std::string> names;
  names.reserve(location_.size());
  for (const auto& [name, file] : location_) names.push_back(name);
  return names;
}

std::string TorchBinStore::file_of(const std::string& name) const { return file_holding(name).path(); }

}  // namespace ll
