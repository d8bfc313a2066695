// The demo's cache: each stage (corpus, tokenizer, base model, each extension run, each
// evaluation) lives in a directory named by a hash of everything it depends on, and counts as done
// once its stage.json (written last, atomically) exists. A second run skips done stages; a stage
// interrupted midway is redone (training runs resume from their last checkpoint).
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace ll::demo {

class Stage {
 public:
  // `params` identifies the stage's work (settings and the keys of the stages it reads).
  Stage(const std::string& cache_dir, const std::string& name, const nlohmann::json& params);

  const std::string& dir() const { return dir_; }
  const std::string& key() const { return key_; }  // the hash, for dependants' params
  std::string file(const std::string& rel) const { return dir_ + "/" + rel; }
  bool done() const;
  nlohmann::json result() const;                 // what finish() recorded
  void finish(const nlohmann::json& result) const;  // marks it done

 private:
  std::string dir_, key_;
  nlohmann::json params_;
};

}  // namespace ll::demo
