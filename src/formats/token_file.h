// Token files: headerless little-endian arrays of token ids, as LongLoRA's PG19 / proof-pile
// `.bin` files (uint16, the default) or uint32 (`--token-dtype u32`, for vocabularies above 65536).
// Documents inside are separated by EOS already; nothing else is stored. Read by mmap, never
// copied: every id is checked against the vocabulary once at open.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/mapped_file.h"

namespace ll {

enum class TokenDtype : uint8_t { U16, U32 };

const char* token_dtype_name(TokenDtype dtype);  // "u16", "u32"
int64_t token_dtype_bytes(TokenDtype dtype);     // 2, 4
// "u16" / "u32" (also "uint16" / "uint32"); anything else is an InputError naming `where`.
TokenDtype parse_token_dtype(std::string_view name, const std::string& where);

class TokenFile {
 public:
  TokenFile() = default;

  const std::string& path() const { return file_.path(); }
  TokenDtype dtype() const { return dtype_; }
  int64_t size() const { return size_; }  // tokens

  int32_t operator[](int64_t i) const {
    return dtype_ == TokenDtype::U16 ? static_cast<int32_t>(u16_[i]) : static_cast<int32_t>(u32_[i]);
  }
  // Tokens [begin, begin + count) widened to int32 into out[0, count); the range must lie inside.
  void read(int64_t begin, int64_t count, int32_t* out) const;

 private:
  friend TokenFile open_token_file(const std::string& path, TokenDtype dtype, int64_t vocab_size);

  MappedFile file_;
  TokenDtype dtype_ = TokenDtype::U16;
  int64_t size_ = 0;
  const uint16_t* u16_ = nullptr;  // into file_ (mmap is page-aligned), set for U16
  const uint32_t* u32_ = nullptr;  // set for U32
};

// Maps `path` as `dtype` ids. InputError naming the file when it cannot be read, when its size is
// not a multiple of the element size, or (naming the token offset and value) when an id is
// ≥ vocab_size (vocab_size > 0; the caller's vocabulary).
TokenFile open_token_file(const std::string& path, TokenDtype dtype, int64_t vocab_size);

// Writes `ids` as a token file, atomically. InputError naming the path when an id is negative or
// does not fit `dtype`.
void write_token_file(const std::string& path, std::span<const int32_t> ids, TokenDtype dtype);

}  // namespace ll
