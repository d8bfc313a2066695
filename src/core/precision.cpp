#include "core/precision.h"

#include "core/error.h"

namespace ll {

const char* precision_name(Precision p) { return p == Precision::F32 ? "f32" : "bf16"; }

Precision parse_precision(const std::string& s) {
  if (s == "f32") return Precision::F32;
  if (s == "bf16") return Precision::BF16;
  fail_expected("--dtype", "value", "f32 or bf16", "'" + s + "'");
}

}  // namespace ll
