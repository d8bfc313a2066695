#include "train/sft_data.h"

#include <algorithm>
#include <cstdio>
#include <span>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/json_file.h"
#include "core/ignore_index.h"
#include "text/prompt_template.h"
#include "train/data_encoder.h"
#include "train/data_order.h"
#include "train/data_summary.h"
#include "train/sft_example.h"

namespace ll {

namespace {

// A string field of one example; `optional` fields may be absent (then "").
std::string_view string_field(const nlohmann::json& example, const char* field, bool optional,
                              const std::string& where) {
  const auto value = example.find(field);
  if (value == example.end()) {
    if (optional) return {};
    fail_input(where, std::string("field '") + field + "' is missing");
  }
  if (!value->is_string()) fail_expected(where, std::string("field '") + field + "'", "a string", value->type_name());
  return value->get_ref<const std::string&>();
}

struct LoadedExamples {
  std::vector<SftExample> kept;  // with a loss token
  int64_t total = 0, skipped = 0, truncated = 0;
};

LoadedExamples load_examples(const std::string& path, const Tokenizer& tokenizer, const SftDataOptions& options) {
  const MappedFile file(path);
  const nlohmann::json list =
      parse_json(std::string_view(reinterpret_cast<const char*>(file.data()), file.size()), path);
  if (!list.is_array())
    fail_expected(path, "top level", "a JSON list of {instruction, output[, input]} objects", list.type_name());
  LoadedExamples loaded;
  loaded.total = static_cast<int64_t>(list.size());
  if (options.max_examples > 0) loaded.total = std::min(loaded.total, options.max_examples);
  if (loaded.total == 0) fail_input(path, "the list holds no examples");

  // Chunk by chunk so only one chunk's prompt strings and untruncated ids exist at a time.
  const DataEncoder encoder(tokenizer);
  constexpr int64_t kChunk = 256;
  for (int64_t first = 0; first < loaded.total; first += kChunk) {
    const int64_t count = std::min(kChunk, loaded.total - first);
    std::vector<std::string> prompts;
    std::vector<std::string_view> outputs;
    for (int64_t i = first; i < first + count; ++i) {
      const std::string where = path + ": example [" + std::to_string(i) + "]";
      const nlohmann::json& example = list[i];
      if (!example.is_object())
        fail_expected(where, "example", "an object {instruction, output[, input]}", example.type_name());
      const std::string_view instruction = string_field(example, "instruction", false, where);
      const std::string_view output = string_field(example, "output", false, where);
      const std::string_view input = string_field(example, "input", true, where);
      prompts.push_back(sft_prompt(instruction, input));
      outputs.push_back(output);
    }
    // As supervised-fine-tune.py: the example is tokenised whole (prompt + output + EOS) and its
    // first len(BOS + prompt ids) tokens are masked, whatever the tokens at the join became.
    std::vector<std::string> wholes;
    for (int64_t i = 0; i < count; ++i) wholes.push_back(prompts[static_cast<size_t>(i)] + std::string(outputs[static_cast<size_t>(i)]));
    const std::vector<std::string_view> prompt_views(prompts.begin(), prompts.end()), whole_views(wholes.begin(), wholes.end());
    const auto prompt_ids = encoder.encode_all(prompt_views, /*add_bos=*/true, /*add_eos=*/false);
    const auto whole_ids = encoder.encode_all(whole_views, /*add_bos=*/true, /*add_eos=*/true);
    for (int64_t i = 0; i < count; ++i) {
      const std::span<const int32_t> whole = whole_ids[i];
      const size_t prompt_len = std::min(prompt_ids[i].size(), whole.size());
      SftExample example = make_sft_example(whole.first(prompt_len), whole.subspan(prompt_len), options.context);
      if (!example.has_loss()) {
        ++loaded.skipped;
        continue;
      }
      loaded.truncated += example.truncated;
      loaded.kept.push_back(std::move(example));
    }
  }
  if (loaded.kept.empty())
    fail_input(path, "every one of its " + std::to_string(loaded.total) + " examples has a prompt that fills --context " +
                         std::to_string(options.context) + ": no target token is left to train on");
  return loaded;
}

class SftData final : public BatchSource {
 public:
  SftData(const std::string& path, LoadedExamples loaded, const Tokenizer& tokenizer, const SftDataOptions& options)
      : examples_(std::move(loaded.kept)),
        pad_id_(tokenizer.eos_id()),
        walker_(static_cast<int64_t>(examples_.size()), options.seed, fingerprint(options),
                [this, options](int64_t epoch) { return order(options, epoch); }) {
    int64_t loss_tokens = 0;
    for (const SftExample& example : examples_) {
      tokens_ += example.length();
      // sft_targets: positions t with t + 1 in [max(prompt_length, 1), length) predict a target token.
      loss_tokens += example.length() - std::max<int64_t>(example.prompt_length, 1);
    }
    char loss_share[32];
    std::snprintf(loss_share, sizeof loss_share, "%.1f%%", 100.0 * static_cast<double>(loss_tokens) / static_cast<double>(tokens_));
    description_ = data_name(path) + ": " + std::to_string(examples_.size()) + " examples, " + short_count(tokens_) +
                   " tokens, " + loss_share + " of them in the loss (of " + std::to_string(loaded.total) +
                   " examples: " + std::to_string(loaded.truncated) + " truncated to " +
                   std::to_string(options.context) + ", " + std::to_string(loaded.skipped) +
                   " skipped as their prompt fills the context)";
  }

  TrainBatch next(int64_t batch_size) override {
    LL_CHECK(batch_size > 0);
    std::vector<const SftExample*> rows;
    int64_t longest = 0;
    for (int64_t b = 0; b < batch_size; ++b) {
      rows.push_back(&examples_[walker_.next()]);
      longest = std::max(longest, rows.back()->length());
    }
    TrainBatch batch;
    batch.layout.B = batch_size;
    batch.layout.T = longest;
    batch.tokens.assign(batch_size * longest, pad_id_);
    batch.targets.assign(batch_size * longest, kIgnoreIndex);
    for (int64_t b = 0; b < batch_size; ++b) {
      const SftExample& example = *rows[b];
      batch.layout.lengths.push_back(example.length());
      std::copy(example.tokens.begin(), example.tokens.end(), batch.tokens.begin() + b * longest);
      sft_targets(example, {batch.targets.data() + b * longest, static_cast<size_t>(example.length())});
    }
    return batch;
  }

  nlohmann::json cursor() const override {
    nlohmann::json cursor = walker_.cursor();
    cursor["kind"] = "sft";
    return cursor;
  }
  void restore(const nlohmann::json& cursor) override { walker_.restore(cursor); }
  int64_t rows_per_epoch() const override { return static_cast<int64_t>(examples_.size()); }
  int64_t tokens_per_epoch() const override { return tokens_; }
  std::string describe() const override { return description_; }

 private:
  // Epoch `epoch`'s example order: seeded permutation, then runs sorted by length if asked.
  std::vector<int64_t> order(const SftDataOptions& options, int64_t epoch) const {
    const int64_t n = static_cast<int64_t>(examples_.size());
    std::vector<int64_t> order = epoch_order(n, options.seed, epoch, options.shuffle);
    if (options.length_group > 0) {
      for (int64_t begin = 0; begin < n; begin += options.length_group) {
        const auto first = order.begin() + begin, last = order.begin() + std::min(n, begin + options.length_group);
        std::stable_sort(first, last, [&](int64_t a, int64_t b) { return examples_[a].length() > examples_[b].length(); });
      }
    }
    return order;
  }

  // What a cursor must match: the options that shape the order and every example's shape.
  std::string fingerprint(const SftDataOptions& options) const {
    Fingerprint f;
    f.add("sft");
    f.add(static_cast<uint64_t>(options.context));
    f.add(static_cast<uint64_t>(options.shuffle));
    f.add(static_cast<uint64_t>(options.length_group));
    f.add(static_cast<uint64_t>(examples_.size()));
    for (const SftExample& example : examples_) {
      f.add(static_cast<uint64_t>(example.length()));
      f.add(static_cast<uint64_t>(example.prompt_length));
      f.add(static_cast<uint64_t>(example.tokens.back()));
    }
    return f.hex();
  }

  std::vector<SftExample> examples_;
  int32_t pad_id_;
  int64_t tokens_ = 0;
  EpochWalker walker_;
  std::string description_;
};

}  // namespace

std::unique_ptr<BatchSource> open_sft_data(const std::string& path, const Tokenizer& tokenizer,
                                           const SftDataOptions& options) {
  if (options.context < 2)
    fail_expected("--context", "tokens per example", "at least 2", std::to_string(options.context));
  if (options.length_group < 0)
    fail_expected("length group", "examples per sorted run", "≥ 0", std::to_string(options.length_group));
  return std::make_unique<SftData>(path, load_examples(path, tokenizer, options), tokenizer, options);
}

}  // namespace ll
