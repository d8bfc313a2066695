#include "formats/weight_file.h"

#include <filesystem>
#include <fstream>

#include "formats/tensor_store.h"
#include "formats/torch_bin.h"

namespace ll {

namespace {

class SafetensorsWeights : public WeightFile {
 public:
  explicit SafetensorsWeights(const std::string& path) : path_(path), store_(TensorStore::open_file(path)) {}
  const std::string& path() const override { return path_; }
  bool has(const std::string& name) const override { return store_.has(name); }
  Tensor get(const std::string& name) const override { return store_.get(name); }
  std::vector<std::string> names() const override { return store_.names(); }

 private:
  std::string path_;
  TensorStore store_;
};

class TorchBinWeights : public WeightFile {
 public:
  explicit TorchBinWeights(const std::string& path) : file_(TorchBinFile::open(path)) {}
  const std::string& path() const override { return file_.path(); }
  bool has(const std::string& name) const override { return file_.has(name); }
  Tensor get(const std::string& name) const override { return file_.get(name); }
  std::vector<std::string> names() const override { return file_.names(); }

 private:
  TorchBinFile file_;
};

bool starts_with_zip_magic(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  f.read(magic, 4);
  return f && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

}  // namespace

std::unique_ptr<WeightFile> WeightFile::open(const std::string& path) {
  if (!std::filesystem::is_regular_file(path)) fail_input(path, "no such file");
  // torch.save writes a zip (or, before 1.6, a bare pickle, which TorchBinFile names as such).
  if (starts_with_zip_magic(path) || std::filesystem::path(path).extension() == ".bin")
    return std::make_unique<TorchBinWeights>(path);
  return std::make_unique<SafetensorsWeights>(path);
}

Tensor WeightFile::get(const std::string& name, const std::vector<int64_t>& expected_shape) const {
  const Tensor t = get(name);
  bool same = t.ndim == static_cast<int>(expected_shape.size());
  for (int d = 0; same && d < t.ndim; ++d) same = t.shape[d] == expected_shape[static_cast<size_t>(d)];
  if (!same) {
    std::string want = "[";
    for (size_t d = 0; d < expected_shape.size(); ++d) want += (d ? ", " : "") + std::to_string(expected_shape[d]);
    fail_expected(path(), "tensor '" + name + "'", "shape " + want + "]", t.shape_str());
  }
  return t;
}

std::string find_weight_file(const std::string& dir, const std::string& stem) {
  for (const char* ext : {".safetensors", ".bin"}) {
    const std::string p = dir + "/" + stem + ext;
    if (std::filesystem::is_regular_file(p)) return p;
  }
  return "";
}

}  // namespace ll
