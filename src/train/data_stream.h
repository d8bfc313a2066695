// The token stream of pre-training data: the concatenation of tokenized text (held in memory)
// and token files (mapped, never copied), read by position.
#pragma once
#include <cstdint>
#include <vector>

#include "formats/token_file.h"

namespace ll {

class TokenStream {
 public:
  void append(std::vector<int32_t> tokens);  // tokenized text
  void append(TokenFile file);               // a token file, as it is
  // Keeps only the first `size` tokens (≤ size()).
  void truncate(int64_t size);

  int64_t size() const { return size_; }
  // Tokens [begin, begin + count) into out[0, count); the range must lie inside the stream.
  void read(int64_t begin, int64_t count, int32_t* out) const;
  int32_t at(int64_t position) const;

 private:
  struct Segment {
    int64_t begin = 0, size = 0;  // where it sits in the stream; size may be less than its source's
    std::vector<int32_t> tokens;  // tokenized text, or
    TokenFile file;               // a token file (when tokens is empty)
  };
  // The segment holding `position` (< size_).
  const Segment& segment_at(int64_t position) const;

  std::vector<Segment> segments_;  // in stream order, none empty
  int64_t size_ = 0;
};

}  // namespace ll
