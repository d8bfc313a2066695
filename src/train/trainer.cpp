#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include "core/error.h"
#include "core/ignore_index.h"
#include "core/mapped_file.h"
#include "core/progress.h"
#include "core/threads.h"
#include "dist/share.h"
#include "formats/json_file.h"
#include "model/memory_plan.h"
#include "model/position_interpolation.h"
#include "model/sliding_window.h"
#include "model/train_step.h"
#include "train/data_order.h"
#include "train/disk_space.h"
#include "train/interrupt.h"
#include "train/memory_check.h"
#include "train/outputs.h"
#include "train/run_checkpoint.h"

namespace ll {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string config_path(const std::string& run_dir) { return run_dir + "/train_config.json"; }

const json& options_in(const json& j, const std::string& path) {
  if (!j.is_object() || !j.contains("options") || !j["options"].is_object())
    fail_input(path, "field 'options' is missing");
  return j["options"];
}

const TrainOptions& validated(const TrainOptions& options) {
  validate_train_options(options);
  return options;
}

int64_t loss_tokens(const TrainBatch& batch) {
  return std::count_if(batch.targets.begin(), batch.targets.end(), [](int32_t t) { return t != kIgnoreIndex; });
}

}  // namespace

json saved_run_options(const std::string& run_dir) {
  const std::string latest = latest_checkpoint(run_dir);
  if (latest.empty()) {
    if (!fs::exists(config_path(run_dir))) fail_input(run_dir, "holds no training run (no train_config.json)");
    return options_in(read_json_file(config_path(run_dir)), config_path(run_dir));
  }
  const std::string state = latest + "/state.json";
  if (!fs::exists(state)) fail_input(state, "missing from the checkpoint");
  return options_in(read_json_file(state), state);
}

void check_new_run_dir(const std::string& run_dir) {
  std::error_code ec;
  if (!fs::exists(run_dir)) return;
  if (!fs::is_directory(run_dir)) fail_input(run_dir, "exists and is not a directory (--out)");
  if (fs::is_empty(run_dir, ec)) return;
  if (fs::exists(config_path(run_dir)))
    fail_input(run_dir, "already holds a training run: continue it with --resume " + run_dir + ", or choose another --out");
  fail_input(run_dir, "exists and is not empty: choose another --out");
}

std::unique_ptr<LlamaModel> open_training_model(TrainOptions& options, bool check_memory, const Communicator& comm) {
  auto files = ModelFiles::open(options.model);
  const Precision precision = options.dtype.empty() ? default_precision(files->weight_dtype(), /*training=*/true)
                                                    : parse_precision(options.dtype);
  options.dtype = precision == Precision::F32 ? "f32" : "bf16";
  const LlamaConfig& c = files->config();
  if (options.context == 0) options.context = std::llround(model_context(c));
  const AttentionMask mask = options.attention_mask();
  check_sliding_window(c, files->path(), max_attention_span(mask, options.context),
                       "longlora " + options.task + " at context " + std::to_string(options.context) + " (" +
                           attention_mode_name(mask.mode) + " attention)");
  // Before the weights are converted and the masters allocated: a run that cannot fit stops here.
  if (check_memory) {
    if (auto available = available_memory()) {
      if (const int sharing = comm.ranks_on_this_machine(); sharing > 1) {
        available->bytes /= static_cast<uint64_t>(sharing);
        available->source += ", shared by the " + std::to_string(sharing) + " ranks on this machine";
      }
      check_training_memory(plan_training_run(c, files->weight_dtype(), precision, options), options, *available,
                            "longlora " + options.task);
    }
  }
  ModelOptions mo;
  mo.precision = precision;
  mo.context = options.context;
  mo.rope_factor = options.rope_factor;
  return std::make_unique<LlamaModel>(std::move(files), mo);
}

Trainer::Trainer(LlamaModel& model, BatchSource& data, const TrainOptions& options, std::string run_dir,
                 Communicator& comm)
    : model_(model),
      data_(data),
      comm_(comm),
      options_(validated(options)),
      run_dir_(std::move(run_dir)),
      // One block of the planned size: the pass's buffers never spill into further blocks.
      arena_(model.backend(), training_arena_bytes(model.config(), model.files().weight_dtype(), model.precision(),
                                                training_shape(options_), num_threads())) {
  model_.make_trainable(options_.trainable_options());
  TrainableStore& store = model_.store();
  if (options_.full && comm_.ranks() > 1) {  // ZeRO-1: this rank's shard of AdamW's moments
    const Share shard = buffer_shard(store.elements(), comm_.rank(), comm_.ranks());
    optimizer_ = std::make_unique<AdamWOptimizer>(model_.backend(), store, options_.adamw(), shard.begin, shard.end);
  } else {
    optimizer_ = std::make_unique<AdamWOptimizer>(model_.backend(), store, options_.adamw());
  }
  if (!comm_.is_root()) progress_out_ = nullptr;
  check_ranks_agree();
}

void Trainer::check_ranks_agree() const {
  if (comm_.ranks() == 1) return;
  Fingerprint f;
  f.add(train_options_to_json(options_).dump());
  const TrainableStore& store = model_.store();
  for (size_t i = 0; i < store.slots().size(); ++i) {
    OwnedTensor keep;
    const Tensor value = host_view(model_.backend(), store.value(i), keep);
    f.add(std::string_view(static_cast<const char*>(value.data), value.nbytes()));
  }
  // Every rank takes part, so no rank's run directory is touched before all have checked theirs.
  if (!comm_.same_on_all_ranks(std::stoull(f.hex(), nullptr, 16)))
    fail_input("longlora " + options_.task, "the " + std::to_string(comm_.ranks()) +
                                                " ranks disagree on the options or the initial trainable weights: "
                                                "every rank needs the same binary, flags, model and data");
}

int64_t Trainer::trainable_elements() const {
  int64_t n = 0;
  for (const TrainableStore::Slot& s : model_.store().slots()) n += s.numel();
  return n;
}

json Trainer::config_json() const {
  const LlamaConfig& c = model_.config();
  return {
      {"options", train_options_to_json(options_)},
      {"effective",
       {{"rope_factor", c.rope_factor},
        {"attention", options_.full_attn ? "causal" : attention_mode_name(options_.attention_mask().mode)},
        {"tokens_per_step", options_.batch_size * options_.context * options_.grad_accum * comm_.ranks()},
        {"ranks", comm_.ranks()},
        {"zero1", model_.store().moments_sharded()},
        {"trainable_tensors", trainable_tensors()},
        {"trainable_parameters", trainable_elements()},
        {"model_parameters", parameter_count(c)},
        {"data", data_.describe()},
        {"rows_per_epoch", data_.rows_per_epoch()},
        {"tokens_per_epoch", data_.tokens_per_epoch()}}},
  };
}

void Trainer::write_config() const {
  if (!comm_.is_root()) return;
  write_text_file_atomic(config_path(run_dir_), config_json().dump(2) + "\n");
}

uint64_t Trainer::disk_bytes_needed() const {
  const int64_t done = steps_done(), last = options_.max_steps, every = options_.save_steps;
  // Saves still to come: every save_steps-th update and the last one.
  const int64_t saves = done >= last ? 0 : last / every - done / every + (last % every != 0 ? 1 : 0);
  const int64_t existing = static_cast<int64_t>(list_checkpoints(run_dir_).size()), keep = options_.keep_checkpoints;
  const uint64_t checkpoint = checkpoint_bytes(*optimizer_);
  // During a save the directory holds the complete checkpoints kept so far and the new one; at the
  // end, the kept checkpoints and the outputs (written beside any older ones, then swapped).
  const int64_t during_saves = saves == 0 ? 0 : std::min(keep, existing + saves - 1) + 1 - existing;
  const int64_t at_end = std::min(keep, existing + saves) - existing;
  const uint64_t outputs = run_outputs_bytes(model_, options_);
  const uint64_t metrics = 1024 * static_cast<uint64_t>(std::max<int64_t>(0, last - done));
  return std::max(static_cast<uint64_t>(std::max<int64_t>(0, during_saves)) * checkpoint,
                  static_cast<uint64_t>(std::max<int64_t>(0, at_end)) * checkpoint + outputs) +
         metrics;
}

void Trainer::check_disk_space() const {
  if (!comm_.is_root()) return;
  check_available_bytes(run_dir_, disk_bytes_needed(),
                        "this run's checkpoints (" + format_bytes(checkpoint_bytes(*optimizer_)) + " each, " +
                            std::to_string(options_.keep_checkpoints) + " kept: --keep-checkpoints) and its outputs");
}

void Trainer::start_new_run() {
  ready_ = true;
  if (!comm_.is_root()) return;
  check_new_run_dir(run_dir_);
  check_disk_space();
  std::error_code ec;
  fs::create_directories(run_dir_, ec);
  if (ec) fail_input(run_dir_, "cannot create the run directory: " + ec.message());
  write_config();
  metrics_ = std::make_unique<MetricsLog>(run_dir_ + "/metrics.jsonl", 0);
}

void Trainer::resume() {
  const std::string latest = latest_checkpoint(run_dir_);
  const json now = train_options_to_json(options_);
  if (latest.empty()) {
    // Killed before its first checkpoint: the run starts over.
    check_same_math(saved_run_options(run_dir_), now, "--resume " + run_dir_);
  } else {
    const LoadedCheckpoint checkpoint(latest);
    check_same_math(checkpoint.state().options, now, "--resume " + checkpoint.dir());
    checkpoint.check_matches(*optimizer_);
    const CheckpointState& state = checkpoint.state();
    if (state.ranks != comm_.ranks())
      fail_input(checkpoint.dir() + "/state.json",
                 "written by a run of " + std::to_string(state.ranks) + " rank(s); resume it with mpirun -np " +
                     std::to_string(state.ranks) + " (this run has " + std::to_string(comm_.ranks()) + ")");
    if (state.dropout_seed != options_.seed ||
        state.micro_batches_done != (state.step + state.skipped_steps) * options_.grad_accum * state.ranks)
      fail_input(checkpoint.dir() + "/state.json",
                 "step, skipped_steps, micro_batches_done and dropout_seed disagree with the options");
    data_.restore(checkpoint.state().data_cursor);
    const json& saved_threads = checkpoint.state().options["threads"];
    if (progress_out_ && saved_threads != json(options_.threads))
      std::fprintf(progress_out_,
                   "note: the run used %s threads, this process %lld: the GEMMs split their sums by thread count, so "
                   "the result will differ from an uninterrupted run in the last bits\n",
                   saved_threads.dump().c_str(), static_cast<long long>(options_.threads));
    // Everything checked: from here on the run's state is replaced.
    checkpoint.apply(*optimizer_);
    model_.refresh_after_update();
    micro_batches_done_ = checkpoint.state().micro_batches_done;
    skipped_steps_ = checkpoint.state().skipped_steps;
    saved_step_ = checkpoint.state().step;
  }
  check_disk_space();
  write_config();
  if (comm_.is_root()) metrics_ = std::make_unique<MetricsLog>(run_dir_ + "/metrics.jsonl", steps_done());
  ready_ = true;
}

StepRecord Trainer::step() {
  Stopwatch watch;
  StepRecord r;
  r.max_steps = options_.max_steps;
  model_.zero_grads();
  TrainPassOptions pass;
  pass.mask = options_.attention_mask();
  pass.checkpointing = options_.checkpointing;
  pass.keep_attention = !options_.recompute_attention;
  double mean_loss_sum = 0;
  int64_t counted_micro_batches = 0;
  // The update's micro-batches over all ranks, in the order one process would read them; this
  // rank computes its share and skips the others' rows.
  const int64_t micro_batches = options_.grad_accum * comm_.ranks();
  const Share mine = share_of(micro_batches, comm_);
  for (int64_t g = 0; g < micro_batches; ++g) {
    const TrainBatch batch = data_.next(options_.batch_size);
    if (!mine.contains(g)) continue;
    const int64_t count = loss_tokens(batch);
    // Each micro-batch contributes its mean token loss / (grad_accum · ranks); one without any
    // loss token contributes nothing.
    pass.grad_scale =
        count > 0 ? static_cast<float>(1.0 / (static_cast<double>(count) * static_cast<double>(micro_batches))) : 0.f;
    pass.dropout = DropoutContext{options_.seed, static_cast<uint64_t>(micro_batches_done_ + g), /*training=*/true};
    const LossSum loss = forward_backward(model_, batch, pass, arena_);
    if (count > 0) {
      mean_loss_sum += loss.sum / static_cast<double>(loss.count);
      ++counted_micro_batches;
    }
    for (int64_t len : batch.layout.lengths) r.tokens += len;
    r.loss_tokens += count;
  }
  micro_batches_done_ += micro_batches;
  all_reduce(r, mean_loss_sum, counted_micro_batches);
  r.loss = counted_micro_batches > 0 ? mean_loss_sum / counted_micro_batches : std::nan("");
  r.step = steps_done() + 1;
  r.lr = learning_rate(options_.schedule(), optimizer_->steps_done());
  r.grad_norm = std::nan("");
  if (accept_gradients(r, counted_micro_batches > 0)) {
    r.grad_norm = clip_grad_norm(model_.backend(), model_.store(), options_.max_grad_norm);
    optimizer_->step(r.lr);
    // ZeRO-1: every rank updated its shard; all take the others'.
    if (model_.store().moments_sharded()) comm_.all_gather(model_.store().values(), model_.store().elements());
    model_.refresh_after_update();
    if (const auto bad = find_non_finite(model_.backend(), model_.store(), model_.store().values()))
      fail_input("longlora " + options_.task, "update " + std::to_string(r.step) + " made a parameter non-finite: " +
                                       describe(*bad) + ". Stopped: " + checkpoint_note());
    consecutive_skips_ = 0;
  }
  r.skipped_steps = skipped_steps_;
  r.step_s = watch.seconds();
  r.tokens_per_s = r.tokens / std::max(r.step_s, 1e-9);
  r.peak_rss_mb = static_cast<double>(peak_rss_bytes()) / (1024.0 * 1024.0);
  return r;
}

void Trainer::all_reduce(StepRecord& r, double& mean_loss_sum, int64_t& counted_micro_batches) {
  if (comm_.ranks() == 1) return;
  TrainableStore& store = model_.store();
  comm_.all_reduce_sum(store.grads(), store.elements());
  // Counts below 2^53 travel exactly as doubles.
  double stats[] = {mean_loss_sum, static_cast<double>(counted_micro_batches), static_cast<double>(r.tokens),
                    static_cast<double>(r.loss_tokens)};
  comm_.all_reduce_sum(stats, 4);
  mean_loss_sum = stats[0];
  counted_micro_batches = static_cast<int64_t>(stats[1]);
  r.tokens = static_cast<int64_t>(stats[2]);
  r.loss_tokens = static_cast<int64_t>(stats[3]);
}

std::string Trainer::checkpoint_note() const {
  if (saved_step_ < 0) return "no checkpoint of this run was saved yet";
  return "nothing of this update was saved; the run's latest checkpoint is step-" + std::to_string(saved_step_) +
         " (continue with --resume " + run_dir_ + ")";
}

bool Trainer::accept_gradients(StepRecord& r, bool loss_counted) {
  const bool bad_loss = loss_counted && !std::isfinite(r.loss);
  const auto bad_gradient = find_non_finite(model_.backend(), model_.store(), model_.store().grads());
  if (!bad_loss && !bad_gradient) return true;
  std::string what = "update " + std::to_string(r.step) + ": ";
  if (bad_loss) what += "non-finite loss (" + json(r.loss).dump() + ")" + (bad_gradient ? "; " : "");
  if (bad_gradient) what += "non-finite gradient in " + describe(*bad_gradient);
  if (on_nan_ == OnNan::Stop) fail_input("longlora " + options_.task, what + ". Stopped (--on-nan stop): " + checkpoint_note());
  ++skipped_steps_;
  if (++consecutive_skips_ > kMaxConsecutiveSkips)
    fail_input("longlora " + options_.task, what + ". Stopped: " + std::to_string(consecutive_skips_) +
                                     " updates in a row were non-finite (--on-nan skip): " + checkpoint_note());
  model_.zero_grads();
  r.non_finite = what;
  if (progress_out_) std::fprintf(progress_out_, "\nlonglora train: %s: update discarded (--on-nan skip)\n", what.c_str());
  return false;
}

void Trainer::save_checkpoint() {
  const TrainableStore& store = model_.store();
  if (!store.moments_sharded()) {
    if (comm_.is_root()) write_checkpoint({});
  } else {  // ZeRO-1: rank 0 gathers the moments of every rank's shard for the file
    std::vector<float> m, v;
    if (comm_.is_root()) {
      m.resize(static_cast<size_t>(store.elements()));
      v.resize(m.size());
    }
    comm_.gather_to_root(store.moments_m(), m.data(), store.elements());
    comm_.gather_to_root(store.moments_v(), v.data(), store.elements());
    if (comm_.is_root()) write_checkpoint({m.data(), v.data()});
  }
  saved_step_ = steps_done();
}

void Trainer::write_checkpoint(const WholeMoments& whole) const {
  CheckpointState state;
  state.step = steps_done();
  state.micro_batches_done = micro_batches_done_;
  state.skipped_steps = skipped_steps_;
  state.dropout_seed = options_.seed;
  state.ranks = comm_.ranks();
  state.data_cursor = data_.cursor();
  state.options = train_options_to_json(options_);
  save_run_checkpoint(run_dir_, state, *optimizer_, options_.keep_checkpoints, whole);
}

bool Trainer::interrupted_on_some_rank() {
  double interrupted = interrupt_requested() ? 1 : 0;
  comm_.all_reduce_sum(&interrupted, 1);
  return interrupted > 0;
}

Trainer::End Trainer::train() {
  LL_CHECK(ready_);
  ProgressLine progress(progress_out_, /*pipe_interval_s=*/0);
  Stopwatch elapsed;
  int64_t attempts = 0;
  while (steps_done() < options_.max_steps) {
    StepRecord r = step();
    ++attempts;
    r.elapsed_s = elapsed.seconds();
    r.eta_s = r.elapsed_s / static_cast<double>(attempts) * static_cast<double>(options_.max_steps - steps_done());
    if (metrics_) metrics_->append(r);
    progress.show(format_step(r), /*last=*/true);
    const bool applied = r.non_finite.empty();
    if (applied && (r.step % options_.save_steps == 0 || r.step == options_.max_steps)) save_checkpoint();
    if (on_step) on_step(r);
    if (interrupted_on_some_rank() && steps_done() < options_.max_steps) {
      if (saved_step_ != steps_done()) save_checkpoint();
      progress.finish();
      return End::Interrupted;
    }
  }
  progress.finish();
  if (comm_.is_root()) write_run_outputs(run_dir_, model_, options_);
  return End::Finished;
}

}  // namespace ll
