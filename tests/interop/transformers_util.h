// What the transformers interop tests (tests/interop/transformers_*) share: longlora's logits for rows of
// tokens, and the error measure they are compared with.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/llama_model.h"

namespace ll::test {

// logits [rows, T, V] of `model` on `tokens` [rows, T] (full causal attention, each row from position 0).
std::vector<float> model_logits(const LlamaModel& model, const std::vector<int32_t>& tokens, int64_t rows);

// max |got − want| / max |want| over all elements: the "relative error" of the interop checks. A
// mismatch of sizes fails the test and returns infinity.
double max_relative_error(const std::vector<float>& got, const float* want, size_t n);

// The ids of a headerless uint16 token file (LongLoRA's .bin).
std::vector<int32_t> read_u16_tokens(const std::string& path);

}  // namespace ll::test
