#include "train/data_stream.h"

#include <algorithm>

#include "core/error.h"

namespace ll {

void TokenStream::append(std::vector<int32_t> tokens) {
  if (tokens.empty()) return;
  Segment segment;
  segment.begin = size_;
  segment.size = static_cast<int64_t>(tokens.size());
  segment.tokens = std::move(tokens);
  size_ += segment.size;
  segments_.push_back(std::move(segment));
}

void TokenStream::append(TokenFile file) {
  if (file.size() == 0) return;
  Segment segment;
  segment.begin = size_;
  segment.size = file.size();
  segment.file = std::move(file);
  size_ += segment.size;
  segments_.push_back(std::move(segment));
}

void TokenStream::truncate(int64_t size) {
  LL_CHECK(size >= 0 && size <= size_);
  while (!segments_.empty() && segments_.back().begin >= size) segments_.pop_back();
  if (!segments_.empty()) segments_.back().size = size - segments_.back().begin;
  size_ = size;
}

const TokenStream::Segment& TokenStream::segment_at(int64_t position) const {
  LL_CHECK(position >= 0 && position < size_);
  const auto after = std::upper_bound(segments_.begin(), segments_.end(), position,
                                      [](int64_t p, const Segment& s) { return p < s.begin; });
  return *(after - 1);
}

void TokenStream::read(int64_t begin, int64_t count, int32_t* out) const {
  LL_CHECK(begin >= 0 && count >= 0 && begin + count <= size_);
  while (count > 0) {
    const Segment& segment = segment_at(begin);
    const int64_t offset = begin - segment.begin;
    const int64_t n = std::min(count, segment.size - offset);
    if (segment.tokens.empty()) {
      segment.file.read(offset, n, out);
    } else {
      std::copy_n(segment.tokens.begin() + offset, n, out);
    }
    begin += n;
    count -= n;
    out += n;
  }
}

int32_t TokenStream::at(int64_t position) const {
  const Segment& segment = segment_at(position);
  const int64_t offset = position - segment.begin;
  return segment.tokens.empty() ? segment.file[offset] : segment.tokens[offset];
}

}  // namespace ll
