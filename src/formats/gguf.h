// GGUF reader (versions 2 and 3), by mmap: metadata key/values and tensors used in place.
//
// Layout: "GGUF", u32 version, u64 tensor count, u64 metadata count, the metadata (string key,
// u32 value type, value), the tensor infos (string name, u32 n_dims, u64 ne[n_dims], u32 ggml
// type, u64 offset), padding to `general.alignment` (default 32), then the data section that the
// offsets point into. Strings are a u64 length and UTF-8 bytes; arrays a u32 element type, a u64
// count and the elements. Every count and length is checked against the bytes left in the file
// before it is used, and containers grow only as their items are actually parsed, so memory stays
// proportional to the file whatever the counts claim.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "formats/gguf_types.h"
#include "formats/tensor_entry.h"

namespace ll {

// One metadata value. Strings and numeric arrays point into the mapped file (valid while the
// GgufFile lives).
struct GgufValue {
  GgufType type = GgufType::U8;
  uint64_t scalar_bits = 0;  // numbers and bools: the value's little-endian bytes, zero-extended
  std::string_view str;      // STRING
  // ARRAY: element type and count, and the elements in one of three forms:
  GgufType elem_type = GgufType::U8;
  uint64_t count = 0;
  const uint8_t* elems = nullptr;         // numbers and bools: `count` packed elements
  std::vector<std::string_view> strings;  // strings
  std::vector<GgufValue> arrays;          // arrays of arrays
};

class GgufFile {
 public:
  // Maps and validates `path`; malformed input throws InputError naming the path and the field.
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }

  // Metadata. Typed getters accept any stored type that holds the value exactly (any integer
  // type in range for get_u32/get_i64, f32 or f64 for get_f32); otherwise, or when the key is
  // absent and no default is given, they throw InputError naming the key.
  bool has(const std::string& key) const { return find(key) != nullptr; }
  const GgufValue* find(const std::string& key) const;
  std::vector<std::string> keys() const;  // in file order
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  uint32_t get_u32(const std::string& key) const;
  uint32_t get_u32(const std::string& key, uint32_t fallback) const;
  int64_t get_i64(const std::string& key) const;
  int64_t get_i64(const std::string& key, int64_t fallback) const;
  float get_f32(const std::string& key) const;
  float get_f32(const std::string& key, float fallback) const;
  bool get_bool(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::vector<std::string> get_string_array(const std::string& key) const;
  std::vector<float> get_f32_array(const std::string& key) const;    // f32 or f64 elements
  std::vector<int32_t> get_i32_array(const std::string& key) const;  // integers in i32 range
  uint64_t array_length(const std::string& key) const;               // InputError unless an array

  // Tensors, in file order, shapes row-major (ggml's ne[] reversed: ne = [in, out] -> [out, in]).
  const std::vector<TensorEntry>& tensor_entries() const { return tensors_; }
  std::vector<std::string> tensor_names() const;
  const TensorEntry* find_tensor(const std::string& name) const;
  bool has_tensor(const std::string& name) const { return find_tensor(name) != nullptr; }
  // A view into the mapping; InputError when absent or not f32/f16/bf16.
  Tensor tensor(const std::string& name) const;

 private:
  const GgufValue& require(const std::string& key) const;
  const GgufValue& require_type(const std::string& key, GgufType type) const;
  [[noreturn]] void fail_key(const std::string& key, const std::string& expected,
                             const std::string& found) const;

  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<TensorEntry> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace ll
