#include "formats/gguf_types.h"

namespace ll {

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::U8: return "u8";
    case GgufType::I8: return "i8";
    case GgufType::U16: return "u16";
    case GgufType::I16: return "i16";
    case GgufType::U32: return "u32";
    case GgufType::I32: return "i32";
    case GgufType::F32: return "f32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::U64: return "u64";
    case GgufType::I64: return "i64";
    case GgufType::F64: return "f64";
  }
  return "?";
}

size_t gguf_scalar_size(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::BOOL: return 1;
    case GgufType::U16:
    case GgufType::I16: return 2;
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::F32: return 4;
    case GgufType::U64:
    case GgufType::I64:
    case GgufType::F64: return 8;
    case GgufType::STRING:
    case GgufType::ARRAY: return 0;
  }
  return 0;
}

bool gguf_is_integer(GgufType type) {
  switch (type) {
    case GgufType::U8:
    case GgufType::I8:
    case GgufType::U16:
    case GgufType::I16:
    case GgufType::U32:
    case GgufType::I32:
    case GgufType::U64:
    case GgufType::I64: return true;
    default: return false;
  }
}

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  // Indexed by ggml_type; empty names are ids ggml removed.
  // clang-format off
  static constexpr GgmlTypeInfo kTypes[] = {
      /*  0 */ {"F32", 1, 4},         {"F16", 1, 2},        {"Q4_0", 32, 18},     {"Q4_1", 32, 20},
      /*  4 */ {"", 0, 0},            {"", 0, 0},           {"Q5_0", 32, 22},     {"Q5_1", 32, 24},
      /*  8 */ {"Q8_0", 32, 34},      {"Q8_1", 32, 36},     {"Q2_K", 256, 84},    {"Q3_K", 256, 110},
      /* 12 */ {"Q4_K", 256, 144},    {"Q5_K", 256, 176},   {"Q6_K", 256, 210},   {"Q8_K", 256, 292},
      /* 16 */ {"IQ2_XXS", 256, 66},  {"IQ2_XS", 256, 74},  {"IQ3_XXS", 256, 98}, {"IQ1_S", 256, 50},
      /* 20 */ {"IQ4_NL", 32, 18},    {"IQ3_S", 256, 110},  {"IQ2_S", 256, 82},   {"IQ4_XS", 256, 136},
      /* 24 */ {"I8", 1, 1},          {"I16", 1, 2},        {"I32", 1, 4},        {"I64", 1, 8},
      /* 28 */ {"F64", 1, 8},         {"IQ1_M", 256, 56},   {"BF16", 1, 2},       {"", 0, 0},
      /* 32 */ {"", 0, 0},            {"", 0, 0},           {"TQ1_0", 256, 54},   {"TQ2_0", 256, 66},
      /* 36 */ {"", 0, 0},            {"", 0, 0},           {"", 0, 0},           {"MXFP4", 32, 17},
  };
  // clang-format on
  if (type >= sizeof(kTypes) / sizeof(kTypes[0]) || kTypes[type].block_size == 0) return nullptr;
  return &kTypes[type];
}

}  // namespace ll
