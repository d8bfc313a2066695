#include "train/numeric_faults.h"

#include <cstdio>

#include "core/error.h"

namespace ll {

OnNan parse_on_nan(const std::string& name, const std::string& where) {
  if (name == "stop") return OnNan::Stop;
  if (name == "skip") return OnNan::Skip;
  fail_expected(where, "--on-nan", "stop or skip", "'" + name + "'");
}

const char* on_nan_name(OnNan policy) { return policy == OnNan::Stop ? "stop" : "skip"; }

int64_t layer_of(const std::string& name) {
  const std::string marker = "layers.";
  const size_t at = name.find(marker);
  if (at == std::string::npos) return -1;
  int64_t layer = 0;
  size_t i = at + marker.size();
  if (i >= name.size() || name[i] < '0' || name[i] > '9') return -1;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && layer < (int64_t{1} << 40); ++i)
    layer = layer * 10 + (name[i] - '0');
  return layer;
}

std::optional<NonFinite> find_non_finite(Backend& backend, const TrainableStore& store, const float* buffer,
                                         const std::string& suffix) {
  if (backend.first_non_finite(buffer, store.elements()) < 0) return std::nullopt;
  // Something is there: the tensors one by one, in the model's order, so the first one named is the
  // earliest layer's.
  std::optional<NonFinite> found;
  int64_t affected = 0;
  for (const TrainableStore::Slot& s : store.slots()) {
    const int64_t at = backend.first_non_finite(buffer + s.offset, s.numel());
    if (at < 0) continue;
    ++affected;
    if (found) continue;
    found = NonFinite{s.name + suffix, layer_of(s.name), at, 0, 0, 0};
    backend.download(&found->value, buffer + s.offset + at, sizeof(float));
  }
  LL_CHECK(found);  // padding between tensors is never written
  found->tensors_affected = affected;
  found->tensors_examined = static_cast<int64_t>(store.slots().size());
  return found;
}

std::string describe(const NonFinite& w) {
  char value[32];
  std::snprintf(value, sizeof value, "%g", static_cast<double>(w.value));
  std::string s = w.tensor;
  if (w.layer >= 0) s += " (layer " + std::to_string(w.layer) + ")";
  s += ": " + std::string(value) + " at element " + std::to_string(w.element) + "; " +
       std::to_string(w.tensors_affected) + " of " + std::to_string(w.tensors_examined) + " tensors";
  return s;
}

}  // namespace ll
