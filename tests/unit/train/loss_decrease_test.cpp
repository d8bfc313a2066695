// Training works on real text: the real pretrained stories260K, LoRA+ (r 8 on q/k/v/o, embeddings
// and norms) with S²-Attn, trained on Jane Austen for 30 updates; the loss on held-out Austen rows
// must drop clearly (stories260K knows children's stories, not Regency prose).
#include <gtest/gtest.h>

#include "model/train_step.h"
#include "support/test_support.h"
#include "train/trainer.h"
#include "unit/train/train_fixture.h"

namespace ll {
namespace {

// Mean next-token loss over `rows` rows of `context` tokens starting at token `first`, full causal
// attention (as evaluation runs).
double held_out_loss(const LlamaModel& model, const std::vector<int32_t>& tokens, int64_t first, int64_t rows,
                     int64_t context) {
  test::TokenRows held_out({tokens.begin() + first, tokens.begin() + first + rows * context}, context);
  const TrainBatch batch = held_out.next(rows);
  Arena arena;
  const LossSum loss = forward_loss(model, batch, AttentionMask{}, arena);
  return loss.sum / static_cast<double>(loss.count);
}

TEST(LossDecrease, LoraPlusOnAustenLowersHeldOutLossOfStories260K) {
  LL_REQUIRE_SHARED_DATA();
  const int64_t context = 256, held_out_start = 200'000;
  const std::vector<int32_t> tokens = test::austen_tokens(held_out_start + 4 * context);
  TrainOptions o;
  o.model = test::shared_path("stories260K-hf");
  o.data = "austen-all.tok512.u16.bin (first 64K tokens)";
  o.context = context;
  o.max_steps = 30;
  o.batch_size = 2;
  o.grad_accum = 1;
  o.lr = 2e-3;
  o.warmup_steps = 5;
  o.save_steps = 1000;
  auto model = open_training_model(o);
  test::TokenRows data({tokens.begin(), tokens.begin() + 65'536}, context);
  test::TempDir run;
  Trainer trainer(*model, data, o, run.file("run"));
  trainer.set_progress_output(nullptr);
  std::vector<double> losses;
  trainer.on_step = [&](const StepRecord& r) { losses.push_back(r.loss); };

  const double before = held_out_loss(*model, tokens, held_out_start, 4, context);
  trainer.start_new_run();
  trainer.train();
  const double after = held_out_loss(*model, tokens, held_out_start, 4, context);
  std::printf("[ report   ] stories260K on Austen, held-out loss %.4f -> %.4f after 30 updates; train loss %.4f -> %.4f\n",
              before, after, losses.front(), losses.back());
  EXPECT_LT(after, before - 0.4);
  EXPECT_LT(losses.back(), losses.front() - 0.4);
}

}  // namespace
}  // namespace ll
