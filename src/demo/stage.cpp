#include "demo/stage.h"

#include <cstdio>
#include <filesystem>

#include "core/mapped_file.h"
#include "formats/json_file.h"

namespace ll::demo {

namespace {
// FNV-1a over the canonical JSON: the same settings give the same directory in every run.
std::string hash_hex(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return std::string(buf, 12);
}
}  // namespace

Stage::Stage(const std::string& cache_dir, const std::string& name, const nlohmann::json& params)
    : key_(hash_hex(name + params.dump())), params_(params) {
  dir_ = cache_dir + "/" + name + "-" + key_;
  std::filesystem::create_directories(dir_);
}

bool Stage::done() const { return std::filesystem::exists(dir_ + "/stage.json"); }

nlohmann::json Stage::result() const { return read_json_file(dir_ + "/stage.json").at("result"); }

void Stage::finish(const nlohmann::json& result) const {
  write_text_file_atomic(dir_ + "/stage.json", nlohmann::json{{"params", params_}, {"result", result}}.dump(2) + "\n");
}

}  // namespace ll::demo
