#include "train/run_checkpoint.h"

#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "core/error.h"
#include "formats/json_file.h"
#include "formats/safetensors.h"
#include "formats/safetensors_writer.h"
#include "train/numeric_faults.h"

namespace ll {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kFormat = "longlora-train-checkpoint";
constexpr int kVersion = 1;
constexpr const char* kParamsFile = "params.safetensors";
constexpr const char* kMomentsFile = "optimizer.safetensors";
constexpr const char* kStateFile = "state.json";
constexpr const char* kPartialPrefix = ".partial-step-";

std::string exp_avg_name(const std::string& param) { return param + ".exp_avg"; }
std::string exp_avg_sq_name(const std::string& param) { return param + ".exp_avg_sq"; }

// FNV-1a, 64 bit, over a file's bytes (the checksum state.json records), and the byte count.
// Read in 1 MiB chunks rather than mapped: a mapped checkpoint would count its whole
// optimizer-moments file against the training run's peak memory.
struct FileRecord {
  uint64_t bytes = 0;
  std::string fnv1a64;
};

FileRecord checksum_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail_input(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> chunk(1 << 20);
  uint64_t h = 1469598103934665603ull;
  uint64_t bytes = 0;
  size_t got;
  while ((got = std::fread(chunk.data(), 1, chunk.size(), f)) > 0) {
    for (size_t i = 0; i < got; ++i) h = (h ^ chunk[i]) * 1099511628211ull;
    bytes += got;
  }
  const bool read_error = std::ferror(f) != 0;
  std::fclose(f);
  if (read_error) fail_input(path, "read error while checksumming");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016" PRIx64, h);
  return {bytes, hex};
}

json file_record(const std::string& path) {
  const FileRecord r = checksum_file(path);
  return {{"bytes", r.bytes}, {"fnv1a64", r.fnv1a64}};
}

void fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) fail_input(dir, std::string("cannot open directory: ") + std::strerror(errno));
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) fail_input(dir, std::string("cannot sync directory: ") + std::strerror(err));
}

// N when `name` is "step-N" (N a plain decimal), nothing otherwise.
std::optional<int64_t> step_of(const std::string& name) {
  if (name.rfind("step-", 0) != 0 || name.size() == 5 || name.size() > 5 + 18) return std::nullopt;
  int64_t n = 0;
  for (size_t i = 5; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

void remove_all_or_fail(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) fail_input(path, "cannot remove: " + ec.message());
}

template <class T>
T required(const json& j, const char* key, const std::string& where, bool (json::*is)() const noexcept,
           const char* expected) {
  auto it = j.find(key);
  if (it == j.end()) fail_input(where, std::string("field '") + key + "' is missing");
  if (!((*it).*is)()) fail_expected(where, key, expected, it->dump());
  return it->get<T>();
}

void check_file(const std::string& dir, const json& files, const char* name, const std::string& state_path) {
  auto it = files.find(name);
  if (it == files.end() || !it->is_object()) fail_input(state_path, std::string("files: no record of ") + name);
  const auto bytes = required<uint64_t>(*it, "bytes", state_path, &json::is_number_unsigned, "a byte count");
  const auto hash = required<std::string>(*it, "fnv1a64", state_path, &json::is_string, "a checksum");
  const std::string path = dir + "/" + name;
  if (!fs::is_regular_file(path)) fail_input(path, "missing from the checkpoint");
  const FileRecord r = checksum_file(path);
  if (r.bytes != bytes)
    fail_expected(path, "size", std::to_string(bytes) + " bytes (as state.json records)", std::to_string(r.bytes) + " bytes");
  if (r.fnv1a64 != hash)
    fail_input(path, "checksum differs from the one state.json records: the file is corrupt");
}

// A tensor of `file` that must exist as f32 with `like`'s shape.
Tensor matching_tensor(const SafetensorsFile& file, const std::string& name, const Tensor& like) {
  if (!file.has(name)) fail_input(file.path(), "tensor '" + name + "' is missing (the run trains it)");
  const Tensor t = file.tensor(name);
  if (t.dtype != DType::F32) fail_expected(file.path(), "tensor '" + name + "'", "dtype F32", dtype_name(t.dtype));
  if (!t.same_shape(like))
    fail_expected(file.path(), "tensor '" + name + "'", "shape " + like.shape_str(), t.shape_str());
  return t;
}

}  // namespace

std::string checkpoints_root(const std::string& run_dir) { return run_dir + "/checkpoints"; }

std::string checkpoint_dir(const std::string& run_dir, int64_t step) {
  return checkpoints_root(run_dir) + "/step-" + std::to_string(step);
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  const std::string root = checkpoints_root(run_dir);
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return {};
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    if (auto n = step_of(entry.path().filename().string())) found.emplace_back(*n, entry.path().string());
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> dirs;
  for (auto& [n, d] : found) dirs.push_back(std::move(d));
  return dirs;
}

std::string latest_checkpoint(const std::string& run_dir) {
  const auto all = list_checkpoints(run_dir);
  return all.empty() ? std::string() : all.back();
}

namespace {

void create_directories_or_fail(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail_input(dir, "cannot create the directory: " + ec.message());
}

// InputError naming the first parameter or AdamW moment that holds a NaN or Inf: a checkpoint
// never stores a poisoned state (resuming it could only repeat the fault).
void check_finite(const AdamWOptimizer& optimizer, int64_t step, const WholeMoments& whole) {
  const TrainableStore& store = optimizer.store();
  const float* m = whole.m ? whole.m : store.moments_m();
  const float* v = whole.v ? whole.v : store.moments_v();
  for (const auto& [buffer, suffix] : {std::pair{static_cast<const float*>(store.values()), ""},
                                       std::pair{m, ".exp_avg"}, std::pair{v, ".exp_avg_sq"}})
    if (const auto bad = find_non_finite(optimizer.backend(), store, buffer, suffix))
      fail_input("checkpoint step-" + std::to_string(step), "not saved: non-finite value in " + describe(*bad));
}

// The store's values and moments as the host reads them: the buffers themselves where the host can
// (the CPU backend), else copies downloaded once; the moments from `whole` when it has them.
class HostStore {
 public:
  HostStore(const AdamWOptimizer& optimizer, const WholeMoments& whole) : store_(optimizer.store()), whole_(whole) {
    if (store_.memory().host_accessible()) return;
    const float* buffers[3] = {store_.values(), whole.m ? nullptr : store_.moments_m(),
                               whole.v ? nullptr : store_.moments_v()};
    for (int k = 0; k < 3; ++k) {
      if (!buffers[k]) continue;
      copies_[k] = OwnedTensor(DType::F32, {store_.elements()});
      optimizer.backend().download(copies_[k].data(), buffers[k], static_cast<size_t>(store_.elements()) * sizeof(float));
    }
  }
  Tensor value(size_t i) const { return on_host(store_.value(i), 0, i); }
  Tensor m(size_t i) const { return whole_.m ? in(whole_.m, i) : on_host(store_.m(i), 1, i); }
  Tensor v(size_t i) const { return whole_.v ? in(whole_.v, i) : on_host(store_.v(i), 2, i); }

 private:
  // Slot i of buffer k: the store's view, or the same view into the host copy.
  Tensor on_host(Tensor t, int k, size_t i) const {
    if (copies_[k].empty()) return t;
    t.data = copies_[k].as<float>() + store_.slots()[i].offset;
    t.device = Device::Host;
    return t;
  }
  // Slot i of a whole host buffer.
  Tensor in(const float* buffer, size_t i) const {
    Tensor t = store_.value(i);
    t.data = const_cast<float*>(buffer) + store_.slots()[i].offset;
    t.device = Device::Host;
    return t;
  }
  const TrainableStore& store_;
  WholeMoments whole_;
  OwnedTensor copies_[3];
};

void write_checkpoint_files(const std::string& partial, const CheckpointState& state,
                            const AdamWOptimizer& optimizer, const WholeMoments& whole) {
  create_directories_or_fail(partial);
  const HostStore host(optimizer, whole);
  NamedTensors params, moments;
  const auto& slots = optimizer.store().slots();
  for (size_t i = 0; i < slots.size(); ++i) {
    params.emplace_back(slots[i].name, host.value(i));
    moments.emplace_back(exp_avg_name(slots[i].name), host.m(i));
    moments.emplace_back(exp_avg_sq_name(slots[i].name), host.v(i));
  }
  write_safetensors(partial + "/" + kParamsFile, params);
  write_safetensors(partial + "/" + kMomentsFile, moments);
  const json record = {
      {"format", kFormat},
      {"version", kVersion},
      {"step", state.step},
      {"micro_batches_done", state.micro_batches_done},
      {"skipped_steps", state.skipped_steps},
      {"dropout_seed", state.dropout_seed},
      {"ranks", state.ranks},
      {"data_cursor", state.data_cursor},
      {"options", state.options},
      {"files", {{kParamsFile, file_record(partial + "/" + kParamsFile)},
                 {kMomentsFile, file_record(partial + "/" + kMomentsFile)}}},
  };
  write_text_file_atomic(partial + "/" + kStateFile, record.dump(2) + "\n");
  fsync_dir(partial);
}

// Puts the finished `partial` at `final_dir`. When final_dir exists (a run that redoes a step it
// saved) the two are exchanged in one atomic rename, so step-N is never absent, and the old one is
// then removed from the partial name.
void move_into_place(const std::string& partial, const std::string& final_dir) {
  if (fs::exists(final_dir)) {
    if (::renameat2(AT_FDCWD, partial.c_str(), AT_FDCWD, final_dir.c_str(), RENAME_EXCHANGE) != 0)
      fail_input(final_dir, std::string("cannot replace the checkpoint: ") + std::strerror(errno));
    remove_all_or_fail(partial);
    return;
  }
  std::error_code ec;
  fs::rename(partial, final_dir, ec);
  if (ec) fail_input(final_dir, "cannot rename the finished checkpoint into place: " + ec.message());
}

}  // namespace

uint64_t checkpoint_bytes(const AdamWOptimizer& optimizer) {
  uint64_t bytes = 64 * 1024;  // state.json, with the data cursor and options, and the headers' fixed parts
  for (const TrainableStore::Slot& s : optimizer.store().slots())
    bytes += 3 * (static_cast<uint64_t>(s.numel()) * sizeof(float) + s.name.size() + 128);  // value, m, v, headers
  return bytes;
}

void save_run_checkpoint(const std::string& run_dir, const CheckpointState& state, const AdamWOptimizer& optimizer,
                         int64_t keep, const WholeMoments& whole) {
  LL_CHECK(!optimizer.store().moments_sharded() || (whole.m && whole.v));
  check_finite(optimizer, state.step, whole);
  const std::string root = checkpoints_root(run_dir);
  create_directories_or_fail(root);
  // Partial directories are what a killed save leaves behind; nothing reads them.
  std::vector<std::string> partials;
  for (const auto& entry : fs::directory_iterator(root))
    if (entry.path().filename().string().rfind(kPartialPrefix, 0) == 0) partials.push_back(entry.path().string());
  for (const std::string& p : partials) remove_all_or_fail(p);

  const std::string partial = root + "/" + kPartialPrefix + std::to_string(state.step);
  try {
    write_checkpoint_files(partial, state, optimizer, whole);
  } catch (const InputError& e) {
    // A full disk, a file-size limit, an I/O error: the earlier checkpoints are untouched.
    std::error_code ec;
    fs::remove_all(partial, ec);
    const std::string latest = latest_checkpoint(run_dir);
    fail_input("checkpoint step-" + std::to_string(state.step),
               std::string("not saved: ") + e.what() + "; " +
                   (latest.empty() ? "the run has no earlier checkpoint"
                                   : "the latest complete checkpoint, " + fs::path(latest).filename().string() +
                                         ", is intact"));
  }
  move_into_place(partial, checkpoint_dir(run_dir, state.step));
  fsync_dir(root);

  // An old checkpoint is first renamed out of the step-N names (atomically), then deleted: a kill
  // during the deletion leaves a partial directory, which nothing reads, not a gutted step-N.
  auto complete = list_checkpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < complete.size(); ++i) {
    const std::string doomed = root + "/" + kPartialPrefix + fs::path(complete[i]).filename().string() + ".old";
    std::error_code ec;
    fs::rename(complete[i], doomed, ec);
    if (ec) fail_input(complete[i], "cannot remove the old checkpoint: " + ec.message());
    remove_all_or_fail(doomed);
  }
}

LoadedCheckpoint::LoadedCheckpoint(const std::string& dir) : dir_(dir) {
  const std::string state_path = dir + "/" + kStateFile;
  if (!fs::is_regular_file(state_path)) fail_input(state_path, "missing from the checkpoint");
  const json j = read_json_file(state_path);
  if (!j.is_object()) fail_expected(state_path, "top level", "a JSON object", j.type_name());
  const auto format = required<std::string>(j, "format", state_path, &json::is_string, "a string");
  if (format != kFormat) fail_expected(state_path, "format", std::string("'") + kFormat + "'", "'" + format + "'");
  const auto version = required<int64_t>(j, "version", state_path, &json::is_number_integer, "an integer");
  if (version != kVersion) fail_expected(state_path, "version", std::to_string(kVersion), std::to_string(version));
  state_.step = required<int64_t>(j, "step", state_path, &json::is_number_unsigned, "a step count ≥ 0");
  state_.micro_batches_done =
      required<int64_t>(j, "micro_batches_done", state_path, &json::is_number_unsigned, "a count ≥ 0");
  // Absent from checkpoints written before --on-nan skip existed.
  state_.skipped_steps = j.contains("skipped_steps") ? required<int64_t>(j, "skipped_steps", state_path,
                                                                         &json::is_number_unsigned, "a count ≥ 0")
                                                     : 0;
  state_.dropout_seed = required<uint64_t>(j, "dropout_seed", state_path, &json::is_number_unsigned, "a seed");
  // Absent from checkpoints written before runs spanned MPI ranks.
  state_.ranks =
      j.contains("ranks") ? required<int64_t>(j, "ranks", state_path, &json::is_number_unsigned, "a count ≥ 1") : 1;
  if (state_.ranks < 1) fail_expected(state_path, "ranks", "a count ≥ 1", std::to_string(state_.ranks));
  if (!j.contains("data_cursor")) fail_input(state_path, "field 'data_cursor' is missing");
  state_.data_cursor = j["data_cursor"];
  if (!j.contains("options") || !j["options"].is_object()) fail_input(state_path, "field 'options' is missing");
  state_.options = j["options"];
  if (!j.contains("files") || !j["files"].is_object()) fail_input(state_path, "field 'files' is missing");
  check_file(dir, j["files"], kParamsFile, state_path);
  check_file(dir, j["files"], kMomentsFile, state_path);
  params_ = std::make_unique<SafetensorsFile>(dir + "/" + kParamsFile);
  moments_ = std::make_unique<SafetensorsFile>(dir + "/" + kMomentsFile);
}

void LoadedCheckpoint::check_matches(const AdamWOptimizer& optimizer) const {
  const TrainableStore& store = optimizer.store();
  for (size_t i = 0; i < store.slots().size(); ++i) {
    const std::string& name = store.slots()[i].name;
    matching_tensor(*params_, name, store.value(i));
    matching_tensor(*moments_, exp_avg_name(name), store.value(i));  // m and v have the value's shape
    matching_tensor(*moments_, exp_avg_sq_name(name), store.value(i));
  }
  const size_t n = store.slots().size();
  if (params_->entries().size() != n)
    fail_expected(params_->path(), "tensor count", std::to_string(n) + " (the run's trainable tensors)",
                  std::to_string(params_->entries().size()));
  if (moments_->entries().size() != 2 * n)
    fail_expected(moments_->path(), "tensor count", std::to_string(2 * n), std::to_string(moments_->entries().size()));
}

void LoadedCheckpoint::apply(AdamWOptimizer& optimizer) const {
  check_matches(optimizer);
  const TrainableStore& store = optimizer.store();
  Backend& backend = optimizer.backend();
  const int64_t first = store.moments_begin(), last = store.moments_end();
  for (size_t i = 0; i < store.slots().size(); ++i) {
    const TrainableStore::Slot& slot = store.slots()[i];
    const Tensor value = params_->tensor(slot.name);
    backend.upload(store.value(i).data, value.data, value.nbytes());
    // The moments of the slot's elements that lie in the optimizer's range (all of them unsharded).
    const int64_t begin = std::max(slot.offset, first), end = std::min(slot.offset + slot.numel(), last);
    if (begin >= end) continue;
    for (const auto& [to, from] : {std::pair{store.moments_m(), moments_->tensor(exp_avg_name(slot.name))},
                                   {store.moments_v(), moments_->tensor(exp_avg_sq_name(slot.name))}})
      backend.upload(to + (begin - first), from.as<float>() + (begin - slot.offset),
                     static_cast<size_t>(end - begin) * sizeof(float));
  }
  optimizer.restore(state_.step);
}

}  // namespace ll
