// safetensors reader: one file, mapped, validated completely at open, tensors used in place.
//
// Layout: 8-byte little-endian header length N, N bytes of JSON header, then the data section.
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end)} (offsets relative to
// the data section) plus an optional "__metadata__" map of strings. As the format's reference
// implementation does, we require the tensors to cover the data section exactly: no overlaps,
// no gaps, no trailing bytes (a hole could hide a second payload; the spec forbids it). Empty
// tensors (a zero dimension) take no bytes. Duplicate names in the JSON keep the last entry; a
// dropped duplicate then leaves a gap, which is reported. Tensors are never copied, even where a
// foreign writer left them misaligned for their dtype (our writer and transformers' align them).
#pragma once
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mapped_file.h"
#include "core/tensor.h"
#include "formats/tensor_entry.h"

namespace ll {

// Headers above this are rejected as corrupt (the reference implementation's limit).
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// "F32", "F16", "BF16", "I32": the safetensors spelling of a dtype we read and write.
const char* safetensors_dtype_name(DType dtype);

class SafetensorsFile {
 public:
  // Maps and validates `path`; any inconsistency throws InputError naming the path and the field.
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  // Every tensor (supported dtype or not), in data-section order.
  const std::vector<TensorEntry>& entries() const { return entries_; }
  std::vector<std::string> names() const;
  const TensorEntry* find(const std::string& name) const;
  bool has(const std::string& name) const { return find(name) != nullptr; }
  // A view into the mapping. InputError when absent or its dtype is not F32/F16/BF16/I32.
  Tensor tensor(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  MappedFile file_;
  std::vector<TensorEntry> entries_;
  std::unordered_map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ll
