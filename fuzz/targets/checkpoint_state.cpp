// Fuzz target "checkpoint_state": state.json of a training checkpoint (what --resume reads first). The checkpoint
// directory also holds valid params.safetensors and optimizer.safetensors for two small
// parameters, written at start-up by save_run_checkpoint itself (into fixture/, whose state.json
// is the seed corpus's; make_seeds.py explains how to take it); the input is the state.json.
// A loaded checkpoint is matched against the optimizer, its options parsed, and its data cursor
// restored into a pre-training source, as Trainer::resume does.
#include <filesystem>

#include "fuzz_input.h"
#include "targets.h"
#include "small_tokenizer.h"
#include "train/pretrain_data.h"
#include "train/run_checkpoint.h"
#include "train/train_options.h"

namespace {

struct Fixture {
  ll::TrainableStore store;
  std::unique_ptr<ll::AdamWOptimizer> optimizer;
  std::unique_ptr<ll::BatchSource> data;
  std::string checkpoint;

  Fixture() {
    const int64_t shape_a[] = {3, 2}, shape_b[] = {5};
    store.declare("a", shape_a, 2);
    store.declare("b", shape_b, 1);
    store.allocate(ll::cpu_backend());
    for (size_t p = 0; p < 2; ++p) {
      const ll::Tensor value = store.value(p);
      for (int64_t i = 0; i < value.numel(); ++i) value.as<float>()[i] = 0.25f * static_cast<float>(i) - 0.5f;
    }
    optimizer = std::make_unique<ll::AdamWOptimizer>(ll::cpu_backend(), store, ll::AdamWSettings{});
    const std::string text_path = ll::fuzz::write_input("doc.txt", "the then than a tan hat the heat");
    ll::PretrainDataOptions data_options;
    data_options.context = 4;
    data = ll::open_pretrain_data(text_path, ll::fuzz::small_tokenizer(), data_options);
    const std::string fixture = ll::fuzz::scratch_dir() + "/fixture";
    ll::CheckpointState state;
    state.step = 2;
    state.micro_batches_done = 2;
    state.data_cursor = data->cursor();
    state.options = ll::train_options_to_json(ll::TrainOptions{});
    ll::save_run_checkpoint(fixture, state, *optimizer, 1);
    checkpoint = ll::fuzz::scratch_dir() + "/checkpoint";
    std::filesystem::create_directories(checkpoint);
    for (const char* file : {"params.safetensors", "optimizer.safetensors"})
      std::filesystem::copy_file(ll::checkpoint_dir(fixture, 2) + "/" + file, checkpoint + "/" + file);
  }
};

}  // namespace

void ll::fuzz::checkpoint_state(const uint8_t* data, size_t size) {
  static Fixture fixture;
  ll::fuzz::write_input("checkpoint/state.json", data, size);
  ll::fuzz::expect_input_errors_only([&] {
    const ll::LoadedCheckpoint checkpoint(fixture.checkpoint);
    checkpoint.check_matches(*fixture.optimizer);
    ll::train_options_from_json(checkpoint.state().options, "state.json");
    fixture.data->restore(checkpoint.state().data_cursor);
    checkpoint.apply(*fixture.optimizer);
  });
}
