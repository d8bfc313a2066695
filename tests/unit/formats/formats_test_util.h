// Helpers for the format tests: random tensors, raw file bytes, byte patching, error matching.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/half.h"
#include "core/tensor.h"

namespace ll::test {

// A tensor of random non-zero values (f32/f16/bf16: uniform in ±[0.1, 2]; i32: random ints).
inline OwnedTensor random_tensor(DType dtype, const std::vector<int64_t>& shape, uint32_t seed) {
  OwnedTensor t(dtype, shape.data(), static_cast<int>(shape.size()));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> mag(0.1f, 2.0f);
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = (rng() & 1 ? 1.0f : -1.0f) * mag(rng);
    switch (dtype) {
      case DType::F32: t.as<float>()[i] = v; break;
      case DType::F16: t.as<uint16_t>()[i] = f32_to_f16(v); break;
      case DType::BF16: t.as<uint16_t>()[i] = f32_to_bf16(v); break;
      case DType::I32: t.as<int32_t>()[i] = static_cast<int32_t>(rng()); break;
    }
  }
  return t;
}

inline OwnedTensor random_tensor(DType dtype, std::initializer_list<int64_t> shape, uint32_t seed) {
  return random_tensor(dtype, std::vector<int64_t>(shape), seed);
}

inline bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype == b.dtype && a.same_shape(b) && a.nbytes() == b.nbytes() &&
         std::memcmp(a.data, b.data, a.nbytes()) == 0;
}

// An 8-byte little-endian length, the header text, then the data bytes.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  const uint64_t n = header.size();
  return std::string(reinterpret_cast<const char*>(&n), 8) + header + data;
}

template <class T>
void patch(std::string& bytes, size_t pos, T value) {
  ASSERT_LE(pos + sizeof(T), bytes.size());
  std::memcpy(&bytes[pos], &value, sizeof(T));
}

template <class T>
void append(std::string& bytes, T value) {
  bytes.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

inline void append_string(std::string& bytes, const std::string& s) {
  append<uint64_t>(bytes, s.size());
  bytes += s;
}

// Runs `f`, expecting an InputError whose message contains every one of `parts`.
inline void expect_input_error(const std::function<void()>& f, const std::vector<std::string>& parts) {
  try {
    f();
    ADD_FAILURE() << "expected an InputError mentioning '" << (parts.empty() ? "" : parts[0]) << "'";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    for (const auto& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

}  // namespace ll::test
