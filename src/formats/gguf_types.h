// GGUF's metadata value types and ggml's tensor element types (ids as stored in the file).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ll {

enum class GgufType : uint32_t {
  U8 = 0,
  I8 = 1,
  U16 = 2,
  I16 = 3,
  U32 = 4,
  I32 = 5,
  F32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  U64 = 10,
  I64 = 11,
  F64 = 12,
};
constexpr uint32_t kGgufTypeCount = 13;

// "u32", "string", "array", ...
const char* gguf_type_name(GgufType type);
// Bytes of one value of a fixed-size type; 0 for STRING and ARRAY.
size_t gguf_scalar_size(GgufType type);
bool gguf_is_integer(GgufType type);

// ggml tensor types we read and write; every other known type is listed but not readable.
constexpr uint32_t kGgmlF32 = 0, kGgmlF16 = 1, kGgmlBF16 = 30;

struct GgmlTypeInfo {
  const char* name;     // "F32", "Q4_0", ...
  uint32_t block_size;  // elements per block (along ne[0])
  uint32_t type_size;   // bytes per block
};
// nullptr for ids ggml does not define (or has removed).
const GgmlTypeInfo* ggml_type_info(uint32_t type);

}  // namespace ll
