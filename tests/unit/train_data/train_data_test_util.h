// Shared by the training-data tests: a tiny tokenizer that needs no files, the real stories260K
// tokenizer, and helpers to read batches back.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/tokenizer.h"
#include "train/batch_source.h"

namespace ll::test {

// A VocabTokenizer over a made-up vocabulary: <unk> 0, BOS 1, EOS 2, the 256 byte pieces, "▁",
// the lowercase letters and a few merges ("▁t", "th", "he", "▁the", …). 300-odd ids.
const Tokenizer& tiny_tokenizer();

// /work/shared/data/stories260K-hf/tokenizer.model (vocabulary 512); call after LL_REQUIRE_SHARED_DATA.
const Tokenizer& stories_tokenizer();

// Random ids in [3, vocab) (never BOS or EOS) of the given length.
std::vector<int32_t> random_ids(std::mt19937& rng, int64_t length, int32_t vocab);

// Lowercase words separated by spaces, `words` of them.
std::string random_words(std::mt19937& rng, int words);

// The rows of batch b as vectors.
std::vector<int32_t> row_tokens(const TrainBatch& batch, int64_t b);
std::vector<int32_t> row_targets(const TrainBatch& batch, int64_t b);

// The parts one after the other.
std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts);

// The message of the InputError `f` throws; fails the test when it throws nothing or something else.
template <typename F>
std::string input_error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected an InputError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected an InputError, nothing was thrown";
  return {};
}

}  // namespace ll::test
