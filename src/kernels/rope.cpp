// No fused multiply-add here: HF computes x·cos and rotate_half(x)·sin as separate rounded tensors.
#pragma GCC optimize("fp-contract=off")

#include "kernels/rope.h"

#include <cmath>
#include <numbers>
#include <vector>

#include "core/error.h"
#include "core/cpu_isa.h"
#include "core/threads.h"

namespace ll {

std::vector<float> rope_inv_freq(int head_dim, double theta) {
  LL_CHECK(head_dim > 0 && head_dim % 2 == 0 && theta > 0);
  // inv_freq = 1.0 / (theta ** (arange(0, D, 2).float() / D)), every step in f32
  std::vector<float> inv_freq(static_cast<size_t>(head_dim / 2));
  for (int i = 0; i < head_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    const float power = static_cast<float>(std::pow(static_cast<double>(static_cast<float>(theta)), exponent));
    inv_freq[static_cast<size_t>(i)] = 1.0f / power;
  }
  return inv_freq;
}

std::vector<float> llama3_inv_freq(const std::vector<float>& inv_freq, double factor, double low_freq_factor,
                                   double high_freq_factor, double original_context) {
  LL_CHECK(factor > 0 && low_freq_factor > 0 && high_freq_factor > low_freq_factor && original_context > 0);
  const auto f32 = [](double v) { return static_cast<float>(v); };
  const float two_pi = f32(2 * std::numbers::pi), f = f32(factor);
  const float low = f32(low_freq_factor), original = f32(original_context);
  const float low_wavelen = f32(original_context / low_freq_factor);
  const float high_wavelen = f32(original_context / high_freq_factor);
  const float band = f32(high_freq_factor - low_freq_factor);
  std::vector<float> out(inv_freq.size());
  for (size_t i = 0; i < inv_freq.size(); ++i) {
    const float inv = inv_freq[i];
    const float wavelen = (1.0f / inv) * two_pi;
    const float scaled = wavelen > low_wavelen ? inv / f : inv;  // inv_freq_llama
    const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
    if (!medium) {
      out[i] = scaled;
      continue;
    }
    const float s = ((1.0f / wavelen) * original - low) / band;  // smooth_factor
    const float a = (1.0f - s) * scaled / f;
    const float b = s * scaled;
    out[i] = a + b;
  }
  return out;
}

RopeTable::RopeTable(int head_dim, double theta, double factor, int64_t max_positions, MemoryResource& memory)
    : RopeTable(rope_inv_freq(head_dim, theta), factor, max_positions, memory) {}

RopeTable::RopeTable(std::vector<float> inv_freq, double factor, int64_t max_positions, MemoryResource& memory)
    : head_dim_(static_cast<int>(2 * inv_freq.size())),
      max_positions_(max_positions),
      cos_(memory, DType::F32, {max_positions, head_dim_ / 2}),
      sin_(memory, DType::F32, {max_positions, head_dim_ / 2}) {
  LL_CHECK(!inv_freq.empty() && factor > 0 && max_positions > 0);
  if (memory.measuring()) return;
  const int half = head_dim_ / 2;
  const float factor_f = static_cast<float>(factor);
  // Computed in place where the host can write the table's memory, else on the host and uploaded.
  std::vector<float> host_cos, host_sin;
  float* c = cos_.as<float>();
  float* s = sin_.as<float>();
  if (!memory.host_accessible()) {
    host_cos.resize(static_cast<size_t>(max_positions * half));
    host_sin.resize(host_cos.size());
    c = host_cos.data();
    s = host_sin.data();
  }
#pragma omp parallel for schedule(static) if (max_positions * half > parallel_grain(32768))
  for (int64_t p = 0; p < max_positions; ++p) {
    const float t = static_cast<float>(p) / factor_f;  // t = arange(n).float() / factor
    for (int i = 0; i < half; ++i) {
      const double freq = t * inv_freq[i];  // f32 product, then cos/sin of that f32 angle
      c[p * half + i] = static_cast<float>(std::cos(freq));
      s[p * half + i] = static_cast<float>(std::sin(freq));
    }
  }
  if (!memory.host_accessible()) {
    memory.upload(cos_.data(), host_cos.data(), host_cos.size() * sizeof(float));
    memory.upload(sin_.data(), host_sin.data(), host_sin.size() * sizeof(float));
  }
}

namespace {

// One head: y1 = x1·c − x2·s, y2 = x2·c + x1·s (sign = +1), or the transpose (sign = −1):
// y1 = x1·c + x2·s, y2 = x2·c − x1·s.
LL_ISA_INLINE void rotate_head_body(float* __restrict x1, float* __restrict x2, const float* __restrict c,
                                 const float* __restrict s, float sign, int half) {
  for (int i = 0; i < half; ++i) {
    const float a = x1[i], b = x2[i], sin_i = sign * s[i];
    x1[i] = a * c[i] - b * sin_i;
    x2[i] = b * c[i] + a * sin_i;
  }
}
LL_ISA_DISPATCH(void, rotate_head, (float* __restrict x1, float* __restrict x2, const float* __restrict c, const float* __restrict s, float sign, int half), (x1, x2, c, s, sign, half))

void rotate(float* x, const int32_t* pos, int64_t T, int n_heads, int head_dim, int64_t token_stride,
            const RopeTable& table, float sign) {
  LL_CHECK(head_dim == table.head_dim() && token_stride >= int64_t{n_heads} * head_dim);
  for (int64_t t = 0; t < T; ++t) LL_CHECK(pos[t] >= 0 && pos[t] < table.max_positions());
  const int half = head_dim / 2;
#pragma omp parallel for schedule(static) if (T * n_heads * head_dim > parallel_grain(32768))
  for (int64_t t = 0; t < T; ++t) {
    const float* c = table.cos(pos[t]);
    const float* s = table.sin(pos[t]);
    for (int h = 0; h < n_heads; ++h) {
      float* head = x + t * token_stride + int64_t{h} * head_dim;
      rotate_head(head, head + half, c, s, sign, half);
    }
  }
}

}  // namespace

void rope_forward(float* x, const int32_t* pos, int64_t T, int n_heads, int head_dim, int64_t token_stride,
                  const RopeTable& table) {
  rotate(x, pos, T, n_heads, head_dim, token_stride, table, 1.0f);
}

// Forward: y = R(p)·x (a rotation per pair). Its Jacobian is R(p), so dx = R(p)ᵀ·dy: the same
// rotation by −angle.
void rope_backward(float* dx, const int32_t* pos, int64_t T, int n_heads, int head_dim, int64_t token_stride,
                   const RopeTable& table) {
  rotate(dx, pos, T, n_heads, head_dim, token_stride, table, -1.0f);
}

}  // namespace ll
