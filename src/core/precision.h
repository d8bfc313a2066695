// The compute precision of a model (`--dtype`): what the GEMMs' inputs hold. Accumulation is always
// f32 and activations are f32 between ops.
//   F32  — inputs as they are (f16/bf16 weights widened exactly to f32);
//   BF16 — both GEMM inputs rounded to bf16, as autocast-bf16 training feeds them; q, k and v are
//          held in bf16 too (backend/backend.h says how each backend runs it).
#pragma once
#include <cstdint>
#include <string>

namespace ll {

enum class Precision : uint8_t { F32, BF16 };

const char* precision_name(Precision p);  // "f32", "bf16"
// Parses "f32" / "bf16" (the --dtype flag); InputError otherwise.
Precision parse_precision(const std::string& s);

}  // namespace ll
