// Numeric faults in training: a NaN or Inf in the loss, a gradient, or a parameter. After each
// update's backward the trainer looks for the first non-finite value (trainable parameters in
// model order, so the first one named is the earliest layer's) and, per --on-nan, stops the run
// or discards the update; checkpoints and outputs refuse to save non-finite tensors.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "model/trainable_store.h"

namespace ll {

enum class OnNan { Stop, Skip };  // --on-nan stop|skip
OnNan parse_on_nan(const std::string& name, const std::string& where);  // InputError naming `where`
const char* on_nan_name(OnNan policy);

// One non-finite value: which tensor (its saved name, and the model layer when it belongs to
// one), which element, and how many of the tensors examined hold any.
struct NonFinite {
  std::string tensor;
  int64_t layer = -1;  // -1: not inside a layer (embeddings, final norm, lm_head)
  int64_t element = 0;
  float value = 0;
  int64_t tensors_affected = 0;
  int64_t tensors_examined = 0;
};

// The layer number in a saved name: 3 for "…model.layers.3.self_attn.q_proj…"; -1 for none.
int64_t layer_of(const std::string& name);

// The first non-finite element of one of the trainable store's buffers — store.values(),
// store.grads(), or a moment — if any; tensors are named by their slot, with `suffix` appended
// (".exp_avg" for m). One pass of the backend over the buffer; only when it finds something are the
// tensors scanned one by one, in the model's order (the first named is the earliest layer's).
std::optional<NonFinite> find_non_finite(Backend& backend, const TrainableStore& store, const float* buffer,
                                         const std::string& suffix = "");

// "model.layers.1.self_attn.q_proj.lora_B.weight (layer 1): nan at element 17; 3 of 26 tensors"
std::string describe(const NonFinite& where);

}  // namespace ll
