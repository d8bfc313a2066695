// Checkpoints of a training run, RUN/checkpoints/step-N: everything a resumed run needs to continue
// bit for bit —
//   params.safetensors     the trainable parameters, f32, under their saved names
//   optimizer.safetensors  AdamW's "<name>.exp_avg" and "<name>.exp_avg_sq", f32
//   state.json             updates done, micro-batches done (the dropout masks), the dropout seed,
//                          the data cursor, the run's options, and the size and FNV-1a-64 checksum
//                          of both tensor files
// A checkpoint is written into RUN/checkpoints/.partial-step-N (every file fsynced, state.json
// last), which is then fsynced and renamed to step-N: a directory named step-N is complete, and
// anything else in RUN/checkpoints is never read; checkpoints beyond --keep-checkpoints are renamed
// back to a partial name before they are deleted. Loading verifies every file before anything is
// used; a corrupt checkpoint throws InputError naming the file.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/safetensors.h"
#include "train/optimizer.h"

namespace ll {

struct CheckpointState {
  int64_t step = 0;                // optimizer updates done
  int64_t micro_batches_done = 0;  // forward/backward passes done: the next pass's dropout step
  int64_t skipped_steps = 0;       // updates discarded for non-finite values (--on-nan skip)
  uint64_t dropout_seed = 0;
  int64_t ranks = 1;               // MPI ranks of the run (micro_batches_done counts all ranks')
  nlohmann::json data_cursor;      // BatchSource::cursor()
  nlohmann::json options;          // train_options_to_json
};

std::string checkpoints_root(const std::string& run_dir);  // RUN/checkpoints
std::string checkpoint_dir(const std::string& run_dir, int64_t step);  // RUN/checkpoints/step-N

// AdamW's moments of every element [store.elements()], in host memory, when the optimizer holds
// only its rank's shard of them (ZeRO-1): rank 0 gathers them for a save.
struct WholeMoments {
  const float* m = nullptr;
  const float* v = nullptr;
};

// Writes the checkpoint of state.step atomically (see above), then deletes the oldest complete
// checkpoints so that `keep` remain, and any partial directory a killed run left behind. Refuses
// (InputError naming the tensor, nothing written) when a parameter or moment is not finite; when
// a write fails (disk full, file-size limit) the partial directory is removed and the InputError
// says that the latest complete checkpoint is intact. The moments come from the optimizer's store,
// or from `whole` when it holds a shard.
void save_run_checkpoint(const std::string& run_dir, const CheckpointState& state, const AdamWOptimizer& optimizer,
                         int64_t keep, const WholeMoments& whole = {});

// About how many bytes one checkpoint of this optimizer takes (a little more, never less).
uint64_t checkpoint_bytes(const AdamWOptimizer& optimizer);

// The complete checkpoints' directories, oldest (fewest steps) first.
std::vector<std::string> list_checkpoints(const std::string& run_dir);
// The newest one; "" when there is none.
std::string latest_checkpoint(const std::string& run_dir);

// A checkpoint read and verified: state.json parsed, both tensor files checked against their size and
// checksum and opened (tensors stay in the mapped files until apply()).
class LoadedCheckpoint {
 public:
  explicit LoadedCheckpoint(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const CheckpointState& state() const { return state_; }
  // InputError naming the file and tensor unless the checkpoint holds exactly the optimizer's
  // parameters (same names, f32, same shapes) with their m and v.
  void check_matches(const AdamWOptimizer& optimizer) const;
  // Copies the parameters into the model's Params and m, v, step into the optimizer — the moments
  // of its shard when it holds one (check_matches first).
  void apply(AdamWOptimizer& optimizer) const;

 private:
  std::string dir_;
  CheckpointState state_;
  std::unique_ptr<SafetensorsFile> params_, moments_;
};

}  // namespace ll
