#include "formats/tensor_store.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "formats/torch_bin.h"

namespace ll {

namespace fs = std::filesystem;

namespace {

class SafetensorsShard final : public TensorStore::File {
 public:
  explicit SafetensorsShard(const std::string& path) : file_(path) {}
  const std::string& path() const override { return file_.path(); }
  std::vector<std::string> names() const override { return file_.names(); }
  bool has(const std::string& name) const override { return file_.has(name); }
  const TensorEntry& entry(const std::string& name) const override { return *file_.find(name); }
  Tensor tensor(const std::string& name) const override { return file_.tensor(name); }

 private:
  SafetensorsFile file_;
};

class TorchBinShard final : public TensorStore::File {
 public:
  explicit TorchBinShard(const std::string& path) : file_(TorchBinFile::open(path)) {}
  const std::string& path() const override { return file_.path(); }
  std::vector<std::string> names() const override { return file_.names(); }
  bool has(const std::string& name) const override { return file_.has(name); }
  const TensorEntry& entry(const std::string& name) const override { return file_.entry(name); }
  Tensor tensor(const std::string& name) const override { return file_.get(name); }

 private:
  TorchBinFile file_;
};

bool starts_with_zip_magic(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  f.read(magic, 4);
  return f && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

// torch.save writes a ZIP (or, before 1.6, a bare pickle, which TorchBinFile names as such).
std::unique_ptr<TensorStore::File> open_any(const std::string& path) {
  if (starts_with_zip_magic(path) || fs::path(path).extension() == ".bin") return std::make_unique<TorchBinShard>(path);
  return std::make_unique<SafetensorsShard>(path);
}

}  // namespace

TensorStore::TensorStore(TensorStore&&) noexcept = default;
TensorStore& TensorStore::operator=(TensorStore&&) noexcept = default;
TensorStore::~TensorStore() = default;

void TensorStore::add_file(std::unique_ptr<File> file) {
  for (const std::string& name : file->names()) location_[name] = file.get();
  files_.push_back(std::move(file));
}

TensorStore TensorStore::open_file(const std::string& path) {
  if (!fs::is_regular_file(path)) fail_input(path, "no such file");
  TensorStore store;
  store.source_ = path;
  store.add_file(open_any(path));
  return store;
}

TensorStore TensorStore::open_hf_dir(const std::string& dir) {
  for (const char* single : {"model.safetensors", "pytorch_model.bin"}) {
    const std::string single_path = dir + "/" + single, index_path = single_path + ".index.json";
    if (fs::exists(single_path)) {
      TensorStore store = open_file(single_path);
      store.source_ = dir;
      return store;
    }
    if (!fs::exists(index_path)) continue;

    const nlohmann::json index = read_json_file(index_path);
    if (!index.is_object() || !index.contains("weight_map")) fail_input(index_path, "missing field 'weight_map'");
    const nlohmann::json& weight_map = index["weight_map"];
    if (!weight_map.is_object() || weight_map.empty())
      fail_expected(index_path, "weight_map", "a non-empty object of tensor name -> shard file",
                    weight_map.dump().substr(0, 80));
    TensorStore store;
    store.source_ = dir;
    std::map<std::string, const File*> shard_by_name;
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
        store.files_.push_back(open_any(shard_path));
        it = shard_by_name.emplace(shard, store.files_.back().get()).first;
      }
      if (!it->second->has(tensor))
        fail_input(index_path, "tensor '" + tensor + "' is listed in weight_map but missing from its shard " +
                                   it->second->path());
      store.location_[tensor] = it->second;
    }
    return store;
  }
  fail_input(dir, "no model.safetensors, model.safetensors.index.json, pytorch_model.bin or "
                  "pytorch_model.bin.index.json in this directory");
}

const TensorStore::File& TensorStore::file_holding(const std::string& name) const {
  const auto it = location_.find(name);
  if (it == location_.end()) fail_input("", "missing tensor '" + name + "' in " + source_);
  return *it->second;
}

const TensorEntry& TensorStore::entry(const std::string& name) const { return file_holding(name).entry(name); }

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

std::string find_weight_file(const std::string& dir, const std::string& stem) {
  for (const char* ext : {".safetensors", ".bin"}) {
    const std::string p = dir + "/" + stem + ext;
    if (fs::is_regular_file(p)) return p;
  }
  return "";
}

}  // namespace ll
