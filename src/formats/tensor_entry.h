// A tensor as a checkpoint file describes it: name, element type, shape and its bytes in the
// mapped file. Shared by the safetensors and GGUF readers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"

namespace ll {

struct TensorEntry {
  std::string name;
  DType dtype = DType::F32;    // meaningful only when `supported`
  bool supported = false;      // false: listed, but its element type cannot be read (F64, Q4_0, ...)
  std::string file_dtype;      // the type as the file spells it: "F32", "I64", "Q4_0", ...
  std::vector<int64_t> shape;  // row-major (outermost first)
  const uint8_t* data = nullptr;
  size_t nbytes = 0;
};

// "[512, 64]"
std::string shape_string(const std::vector<int64_t>& shape);

// Whether the product of `shape`'s (non-negative) dimensions fits an int64. The GGUF reader checks
// it besides the byte count, which a zero innermost dimension makes 0 whatever the others are.
bool element_count_fits(const std::vector<int64_t>& shape);

// A Tensor view of a supported entry's bytes. A 0-dim (scalar) entry becomes shape [1]; more than
// kMaxDims dims throws InputError naming `file` and the tensor.
Tensor entry_view(const TensorEntry& entry, const std::string& file);

}  // namespace ll
