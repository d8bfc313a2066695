// The training loop (LongLoRA's fine-tune.py through HF Trainer, on our engine). One optimizer step:
//
//   zero the gradients
//   for each of grad_accum micro-batches (batch_size rows each, from the BatchSource):
//     forward + backward with grad_scale = 1 / (loss tokens · grad_accum)   (mean token loss per
//     micro-batch, averaged over the micro-batches, as HF divides the loss by the accumulation steps)
//   grad_norm = clip_grad_norm(max_grad_norm);  AdamW with lr = schedule(step);  refresh the GEMM weights
//
// The step's loss is the mean of its micro-batches' mean losses, measured before the update. LoRA
// dropout draws its masks from (seed, micro-batch number), so a run is a function of its options.
// Every save_steps updates and after the last one the state goes to a checkpoint
// (train/run_checkpoint.h); a resumed run continues from the latest and ends bit-identical to an
// uninterrupted one when it runs the same number of threads (the GEMMs' sums depend on it; the
// CLI saves the count and reuses it, and resume() notes a different one). At the end the outputs are written (train/outputs.h).
//
// Over R ranks (mpirun; dist/communicator.h) training is data parallel: an update's R·A
// micro-batches, numbered as one process with grad_accum R·A would read them, are split by
// dist/share.h (rank r computes [r·A, (r+1)·A), skipping the others' rows in the shared data order),
// each scaled by 1 / (loss tokens · A · R), and the flat gradient buffer is summed over the ranks
// once per update: every rank then clips and updates the same gradients, and the run equals one
// process with grad_accum R·A up to the order of the f32 sums. The dropout masks follow the global
// micro-batch number. Rank 0 alone prints, writes train_config.json, metrics, checkpoints and
// outputs; every rank reads --resume's checkpoint (the run directory must be shared), which must come
// from a run of as many ranks. With --full, ZeRO-1: each rank holds AdamW's moments of its shard of
// the store only (dist/share.h buffer_shard) and updates that shard; the ranks then all-gather the
// updated values, and rank 0 gathers the moments for a checkpoint (same files as one process's).
//
// Faults (README "Guarantees"): after each update's backward the loss and every gradient are
// checked; a NaN or Inf stops the run naming the tensor and layer (--on-nan stop) or discards the
// update (--on-nan skip: counted in metrics.jsonl, at most kMaxConsecutiveSkips in a row), and an
// update that makes a parameter non-finite always stops it; no checkpoint or output holds a
// non-finite value. Before the first update the run directory must have room for the next
// checkpoints and the outputs. Under an InterruptHandler (train/interrupt.h) a SIGINT ends train()
// after the current update with a checkpoint.
#pragma once
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "core/arena.h"
#include "dist/communicator.h"
#include "model/llama_model.h"
#include "train/batch_source.h"
#include "train/metrics.h"
#include "train/numeric_faults.h"
#include "train/optimizer.h"
#include "train/run_checkpoint.h"
#include "train/train_options.h"

namespace ll {

// The options a run directory was trained with: those of its latest checkpoint, else those of its
// train_config.json; InputError when RUN holds no run (or the file is unreadable).
nlohmann::json saved_run_options(const std::string& run_dir);

// InputError unless run_dir can hold a new run: absent, or an empty directory (a run there must be
// continued with --resume).
void check_new_run_dir(const std::string& run_dir);

// Opens options.model for training at options.context / rope_factor / dtype, and fills in the
// effective context (the model's own when 0) and dtype (bf16 by default). With check_memory, a
// run whose memory plan exceeds the memory available is refused (InputError, train/memory_check.h)
// before any weight is converted; the ranks of `comm` on one machine share its memory.
std::unique_ptr<LlamaModel> open_training_model(TrainOptions& options, bool check_memory = true,
                                                const Communicator& comm = one_process());

class Trainer {
 public:
  // Validates the options and makes `model` trainable with them (LoRA adapters, f32 masters); the
  // model, the data and the communicator must outlive the trainer. Over several ranks every rank
  // constructs its trainer together: InputError unless their options and parameters agree.
  Trainer(LlamaModel& model, BatchSource& data, const TrainOptions& options, std::string run_dir,
          Communicator& comm = one_process());

  // Consecutive updates --on-nan skip may discard before the run stops all the same.
  static constexpr int64_t kMaxConsecutiveSkips = 10;

  // Starts a new run in run_dir, which must not exist or be empty: checks the free space, then
  // writes train_config.json.
  void start_new_run();
  // Continues the run in run_dir from its latest complete checkpoint (from the start when it has
  // none). Every option that changes the math must equal the run's (InputError naming it). The
  // checkpoint is verified, the data cursor restored and the free space checked before anything
  // in run_dir is written.
  void resume();
  enum class End { Finished, Interrupted };
  // Trains up to max_steps updates, checkpointing, then writes the outputs (Finished). After an
  // interrupt (train/interrupt.h) it returns after the current update, with a checkpoint of it
  // and no outputs (Interrupted). A non-finite value it cannot skip throws InputError.
  End train();

  // What a NaN or Inf loss or gradient does (default: stop).
  void set_on_nan(OnNan policy) { on_nan_ = policy; }
  // Bytes the rest of the run may still need in run_dir at its peak: new checkpoints before the
  // oldest are deleted, and the outputs.
  uint64_t disk_bytes_needed() const;

  // Called after every update (after its checkpoint, when it has one).
  std::function<void(const StepRecord&)> on_step;
  // Where the progress line goes (stderr by default; nullptr = nowhere).
  void set_progress_output(std::FILE* out) { progress_out_ = out; }

  const TrainOptions& options() const { return options_; }
  int64_t steps_done() const { return optimizer_->steps_done(); }
  int64_t skipped_steps() const { return skipped_steps_; }
  // Trainable parameters and elements.
  int64_t trainable_tensors() const { return static_cast<int64_t>(model_.trainable_params().size()); }
  int64_t trainable_elements() const;
  // Every effective setting, as RUN/train_config.json holds it.
  nlohmann::json config_json() const;

 private:
  StepRecord step();
  // After backward: InputError (stop) or the record marked skipped and the gradients zeroed
  // (skip) when the loss or a gradient is not finite. True when the update goes ahead.
  bool accept_gradients(StepRecord& r, bool loss_counted);
  void save_checkpoint();
  void write_checkpoint(const WholeMoments& whole) const;  // rank 0's part of save_checkpoint
  // Whether a SIGINT reached any rank (every rank asks, once per update).
  bool interrupted_on_some_rank();
  // What the run keeps after a fault: its latest checkpoint, for the error message.
  std::string checkpoint_note() const;
  void write_config() const;
  void check_disk_space() const;

  // Sums the gradients and the step's loss statistics over the ranks (nothing on one rank).
  void all_reduce(StepRecord& r, double& mean_loss_sum, int64_t& counted_micro_batches);
  // InputError unless every rank holds the same options and trainable values.
  void check_ranks_agree() const;

  LlamaModel& model_;
  BatchSource& data_;
  Communicator& comm_;
  TrainOptions options_;
  std::string run_dir_;
  std::unique_ptr<AdamWOptimizer> optimizer_;
  std::unique_ptr<MetricsLog> metrics_;
  Arena arena_;
  int64_t micro_batches_done_ = 0;
  int64_t skipped_steps_ = 0;       // updates discarded (--on-nan skip), whole run
  int64_t consecutive_skips_ = 0;   // since the last applied update
  int64_t saved_step_ = -1;         // step of the latest checkpoint (or -1)
  OnNan on_nan_ = OnNan::Stop;
  bool ready_ = false;  // start_new_run() or resume() called
  std::FILE* progress_out_ = stderr;
};

}  // namespace ll
