#include "train/numeric_faults.h"

#include <cmath>
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

namespace {

// Index of the first non-finite float in [p, p + n), or -1.
int64_t first_non_finite(const float* p, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return i;
  return -1;
}

template <class Get>
std::optional<NonFinite> scan(size_t count, Get get) {
  std::optional<NonFinite> found;
  int64_t affected = 0, examined = 0;
  for (size_t k = 0; k < count; ++k) {
    const auto [name, data, n] = get(k);
    if (!data) continue;
    ++examined;
    const int64_t at = first_non_finite(data, n);
    if (at < 0) continue;
    ++affected;
    if (!found) found = NonFinite{name, layer_of(name), at, data[at], 0, 0};
  }
  if (found) {
    found->tensors_affected = affected;
    found->tensors_examined = examined;
  }
  return found;
}

struct Span {
  std::string name;
  const float* data;
  int64_t n;
};

}  // namespace

std::optional<NonFinite> find_non_finite_gradient(const std::vector<NamedParam>& params) {
  return scan(params.size(), [&](size_t k) {
    const Param& p = *params[k].param;
    return Span{params[k].name, p.grad_data(), p.trainable() ? p.grad.view().numel() : 0};
  });
}

std::optional<NonFinite> find_non_finite_value(const std::vector<NamedParam>& params) {
  return scan(params.size(), [&](size_t k) {
    const Param& p = *params[k].param;
    return Span{params[k].name, p.data(), p.value.view().numel()};
  });
}

std::optional<NonFinite> find_non_finite(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  return scan(tensors.size(), [&](size_t k) {
    const Tensor& t = tensors[k].second;
    LL_CHECK(t.dtype == DType::F32);
    return Span{tensors[k].first, static_cast<const float*>(t.data), t.numel()};
  });
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
