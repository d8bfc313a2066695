#include "formats/token_file.h"

#include <algorithm>
#include <bit>
#include <vector>

#include "core/error.h"
#include "core/cpu_isa.h"

namespace ll {

static_assert(std::endian::native == std::endian::little, "token files are read in place as little-endian");

const char* token_dtype_name(TokenDtype dtype) { return dtype == TokenDtype::U16 ? "u16" : "u32"; }

int64_t token_dtype_bytes(TokenDtype dtype) { return dtype == TokenDtype::U16 ? 2 : 4; }

TokenDtype parse_token_dtype(std::string_view name, const std::string& where) {
  if (name == "u16" || name == "uint16") return TokenDtype::U16;
  if (name == "u32" || name == "uint32") return TokenDtype::U32;
  fail_expected(where, "token dtype", "u16 or u32", "'" + std::string(name) + "'");
}

void TokenFile::read(int64_t begin, int64_t count, int32_t* out) const {
  LL_CHECK(begin >= 0 && count >= 0 && begin + count <= size_);
  if (dtype_ == TokenDtype::U16) {
    std::copy(u16_ + begin, u16_ + begin + count, out);
  } else {
    std::copy(u32_ + begin, u32_ + begin + count, out);
  }
}

namespace {

// The largest id of ids[0, n) (0 when empty): plain loops that vectorise.
LL_ISA_INLINE uint16_t max_id_block_body(const uint16_t* ids, int64_t n) {
  uint16_t largest = 0;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, ids[i]);
  return largest;
}
LL_ISA_DISPATCH(uint16_t, max_id_block, (const uint16_t* ids, int64_t n), (ids, n))

LL_ISA_INLINE uint32_t max_id_block_body(const uint32_t* ids, int64_t n) {
  uint32_t largest = 0;
  for (int64_t i = 0; i < n; ++i) largest = std::max(largest, ids[i]);
  return largest;
}
LL_ISA_DISPATCH(uint32_t, max_id_block, (const uint32_t* ids, int64_t n), (ids, n))

// The same over blocks of a large file, in parallel.
template <typename Id>
Id max_id(const Id* ids, int64_t n) {
  constexpr int64_t kBlock = 1 << 20;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  Id largest = 0;
#pragma omp parallel for reduction(max : largest) schedule(static) if (blocks > 1)
  for (int64_t b = 0; b < blocks; ++b)
    largest = std::max(largest, max_id_block(ids + b * kBlock, std::min(kBlock, n - b * kBlock)));
  return largest;
}

// Throws naming the first id ≥ vocab_size, if any.
template <typename Id>
void check_ids(const std::string& path, const Id* ids, int64_t n, int64_t vocab_size) {
  if (n == 0 || static_cast<int64_t>(max_id(ids, n)) < vocab_size) return;
  const Id* bad = std::find_if(ids, ids + n, [&](Id id) { return static_cast<int64_t>(id) >= vocab_size; });
  fail_expected(path, "token at offset " + std::to_string(bad - ids),
                "an id below the vocabulary size " + std::to_string(vocab_size), std::to_string(*bad));
}

}  // namespace

TokenFile open_token_file(const std::string& path, TokenDtype dtype, int64_t vocab_size) {
  LL_CHECK(vocab_size > 0);
  TokenFile tokens;
  tokens.file_ = MappedFile(path);
  tokens.dtype_ = dtype;
  const int64_t bytes = static_cast<int64_t>(tokens.file_.size());
  const int64_t element = token_dtype_bytes(dtype);
  if (bytes % element != 0)
    fail_expected(path, std::string("size of a ") + token_dtype_name(dtype) + " token file",
                  "a multiple of " + std::to_string(element) + " bytes", std::to_string(bytes) + " bytes");
  tokens.size_ = bytes / element;
  if (dtype == TokenDtype::U16) {
    tokens.u16_ = reinterpret_cast<const uint16_t*>(tokens.file_.data());
    check_ids(path, tokens.u16_, tokens.size_, vocab_size);
  } else {
    tokens.u32_ = reinterpret_cast<const uint32_t*>(tokens.file_.data());
    check_ids(path, tokens.u32_, tokens.size_, vocab_size);
  }
  return tokens;
}

void write_token_file(const std::string& path, std::span<const int32_t> ids, TokenDtype dtype) {
  const int64_t limit = dtype == TokenDtype::U16 ? (int64_t{1} << 16) : (int64_t{1} << 32);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= limit)
      fail_expected(path, "token " + std::to_string(i),
                    std::string("an id that fits ") + token_dtype_name(dtype), std::to_string(ids[i]));
  }
  AtomicFileWriter out(path);
  if (dtype == TokenDtype::U16) {
    const std::vector<uint16_t> narrow(ids.begin(), ids.end());
    out.write(narrow.data(), narrow.size() * sizeof(uint16_t));
  } else {
    out.write(ids.data(), ids.size() * sizeof(int32_t));
  }
  out.commit();
}

}  // namespace ll
