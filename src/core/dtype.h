// Element types of tensors held in files and memory.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace ll {

enum class DType : uint8_t { F32, F16, BF16, I32 };

constexpr size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
  }
  return 0;
}

// "f32", "f16", "bf16", "i32"
const char* dtype_name(DType t);
// Parses "f32"/"f16"/"bf16"/"i32" (also "float32", "float16", "bfloat16"); false if unknown.
bool parse_dtype(const std::string& s, DType* out);

}  // namespace ll
