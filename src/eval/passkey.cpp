#include "eval/passkey.h"

#include "eval/generate.h"
#include "eval/numpy_random.h"

namespace ll {

PasskeyPrompt make_passkey_prompt(int64_t n_garbage, uint64_t seed) {
  static const std::string task =
      "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. "
      "I will quiz you about the important information there.";
  static const std::string garbage =
      "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";
  NumpyLegacyRandom rng(static_cast<uint32_t>(seed));
  const int64_t prefix_chars = n_garbage > 0 ? rng.randint(0, n_garbage) : 0;
  const int64_t suffix_chars = n_garbage - prefix_chars;
  // " ".join([garbage] * k), long enough for either part.
  std::string filler;
  while (static_cast<int64_t>(filler.size()) < n_garbage) filler += (filler.empty() ? "" : " ") + garbage;
  const std::string key = std::to_string(rng.randint(1, 50000));
  PasskeyPrompt p;
  p.answer = key;
  p.prompt = task + "\n" + filler.substr(0, static_cast<size_t>(prefix_chars)) + "\n" + "The pass key is " + key +
             ". Remember it. " + key + " is the pass key." + "\n" + filler.substr(0, static_cast<size_t>(suffix_chars)) +
             "\n" + "What is the pass key? The pass key is";
  return p;
}

int64_t passkey_garbage_chars(int64_t i, int64_t interval) {
  return static_cast<int64_t>(3.75 * static_cast<double>((i + 1) * interval) / 1024.0) * 1024;
}

PasskeyTrial run_passkey_trial(const LlamaModel& model, const Tokenizer& tokenizer, int64_t n_garbage, uint64_t seed) {
  const PasskeyPrompt p = make_passkey_prompt(n_garbage, seed);
  const std::vector<int32_t> prompt = tokenizer.encode(p.prompt, /*add_bos=*/true);
  const std::vector<int32_t> answer = tokenizer.encode(p.answer, /*add_bos=*/false);
  GenerateOptions opts;
  opts.max_new_tokens = static_cast<int64_t>(answer.size());
  opts.sampling.greedy = true;
  opts.stop_at_eos = false;
  const std::vector<int32_t> out = generate(model, prompt, opts, nullptr);
  PasskeyTrial t;
  t.seed = seed;
  t.prompt_tokens = static_cast<int64_t>(prompt.size());
  t.answer = p.answer;
  t.model_answer = tokenizer.decode(out);
  t.correct = out == answer;
  return t;
}

}  // namespace ll
