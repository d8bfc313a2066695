// GGUF writer (version 3, alignment 32): metadata of every value type and f32/f16/bf16 tensors,
// written atomically. Used for llama.cpp LoRA adapters and merged models, and by the tests to
// build valid and corrupted GGUF files.
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "formats/gguf_types.h"

namespace ll {

class GgufWriter {
 public:
  static constexpr uint64_t kAlignment = 32;

  // Metadata, in the order added; each key at most once.
  void add_u8(const std::string& key, uint8_t v) { add_scalar(key, GgufType::U8, &v, 1); }
  void add_i8(const std::string& key, int8_t v) { add_scalar(key, GgufType::I8, &v, 1); }
  void add_u16(const std::string& key, uint16_t v) { add_scalar(key, GgufType::U16, &v, 2); }
  void add_i16(const std::string& key, int16_t v) { add_scalar(key, GgufType::I16, &v, 2); }
  void add_u32(const std::string& key, uint32_t v) { add_scalar(key, GgufType::U32, &v, 4); }
  void add_i32(const std::string& key, int32_t v) { add_scalar(key, GgufType::I32, &v, 4); }
  void add_u64(const std::string& key, uint64_t v) { add_scalar(key, GgufType::U64, &v, 8); }
  void add_i64(const std::string& key, int64_t v) { add_scalar(key, GgufType::I64, &v, 8); }
  void add_f32(const std::string& key, float v) { add_scalar(key, GgufType::F32, &v, 4); }
  void add_f64(const std::string& key, double v) { add_scalar(key, GgufType::F64, &v, 8); }
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_string_array(const std::string& key, const std::vector<std::string>& v);
  void add_f32_array(const std::string& key, const std::vector<float>& v);
  void add_i32_array(const std::string& key, const std::vector<int32_t>& v);
  // An array of any fixed-size type (u8 ... f64, bool): `count` packed little-endian elements.
  void add_numeric_array(const std::string& key, GgufType elem_type, const void* elems, uint64_t count);

  // A contiguous f32/f16/bf16 tensor with a row-major shape (stored as ggml ne[], reversed). Only
  // the view is kept: its data must stay valid until write().
  void add_tensor(const std::string& name, const Tensor& t);

  // Header, tensor infos, data (each tensor padded to the alignment); temporary + rename.
  void write(const std::string& path) const;

 private:
  void add_key(const std::string& key, GgufType type);
  void add_scalar(const std::string& key, GgufType type, const void* v, size_t size);
  void append(const void* p, size_t n) { metadata_.append(static_cast<const char*>(p), n); }
  void append_string(const std::string& s);

  std::string metadata_;  // the encoded key/value pairs
  uint64_t metadata_count_ = 0;
  std::set<std::string> keys_, tensor_names_;
  std::vector<std::pair<std::string, Tensor>> tensors_;
};

}  // namespace ll
