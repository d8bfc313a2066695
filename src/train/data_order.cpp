#include "train/data_order.h"

#include <cstdio>
#include <numeric>

#include "core/error.h"

namespace ll {

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): a small generator with a fixed, portable sequence.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound), bound > 0, without modulo bias (Lemire's multiply-and-reject).
  uint64_t below(uint64_t bound) {
    unsigned __int128 product = static_cast<unsigned __int128>(next()) * bound;
    uint64_t low = static_cast<uint64_t>(product);
    if (low < bound) {
      const uint64_t threshold = -bound % bound;
      while (low < threshold) {
        product = static_cast<unsigned __int128>(next()) * bound;
        low = static_cast<uint64_t>(product);
      }
    }
    return static_cast<uint64_t>(product >> 64);
  }

 private:
  uint64_t state_;
};

const char* const kWhere = "data cursor";

int64_t cursor_int(const nlohmann::json& cursor, const char* field) {
  if (!cursor.contains(field) || !cursor[field].is_number_integer())
    fail_expected(kWhere, std::string("field '") + field + "'", "an integer",
                  cursor.contains(field) ? cursor[field].dump() : "nothing");
  return cursor[field].get<int64_t>();
}

}  // namespace

std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  // One stream per (seed, epoch): the epoch goes through the mixer before it meets the seed.
  SplitMix64 rng(seed ^ SplitMix64(static_cast<uint64_t>(epoch) + 0x5eedull).next());
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i) + 1)]);
  return order;
}

std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle) {
  if (shuffle) return seeded_permutation(n, seed, epoch);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t{0});
  return order;
}

void Fingerprint::add(uint64_t value) {
  for (int byte = 0; byte < 8; ++byte) {
    hash_ ^= (value >> (8 * byte)) & 0xff;
    hash_ *= 0x100000001b3ull;
  }
}

void Fingerprint::add(std::string_view bytes) {
  add(bytes.size());
  for (unsigned char c : bytes) {
    hash_ ^= c;
    hash_ *= 0x100000001b3ull;
  }
}

std::string Fingerprint::hex() const {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash_));
  return text;
}

EpochWalker::EpochWalker(int64_t rows, uint64_t seed, std::string fingerprint, MakeOrder make_order)
    : rows_(rows), seed_(seed), fingerprint_(std::move(fingerprint)), make_order_(std::move(make_order)) {
  LL_CHECK(rows_ > 0);
  start_epoch(0);
}

void EpochWalker::start_epoch(int64_t epoch) {
  epoch_ = epoch;
  index_ = 0;
  order_ = make_order_(epoch);
  LL_CHECK(static_cast<int64_t>(order_.size()) == rows_);
}

int64_t EpochWalker::next() {
  const int64_t row = order_[index_];
  if (++index_ == rows_) start_epoch(epoch_ + 1);
  return row;
}

nlohmann::json EpochWalker::cursor() const {
  return {{"epoch", epoch_}, {"index", index_}, {"seed", seed_}, {"fingerprint", fingerprint_}};
}

void EpochWalker::restore(const nlohmann::json& cursor) {
  if (!cursor.is_object()) fail_expected(kWhere, "cursor", "an object", cursor.dump());
  if (!cursor.contains("fingerprint") || !cursor["fingerprint"].is_string() ||
      cursor["fingerprint"].get<std::string>() != fingerprint_)
    fail_input(kWhere, "belongs to other data or data options (fingerprint " +
                           (cursor.contains("fingerprint") ? cursor["fingerprint"].dump() : std::string("missing")) +
                           ", this data has \"" + fingerprint_ + "\")");
  if (!cursor.contains("seed") || !cursor["seed"].is_number_unsigned() || cursor["seed"].get<uint64_t>() != seed_)
    fail_expected(kWhere, "field 'seed'", std::to_string(seed_),
                  cursor.contains("seed") ? cursor["seed"].dump() : "nothing");
  const int64_t epoch = cursor_int(cursor, "epoch");
  const int64_t index = cursor_int(cursor, "index");
  if (epoch < 0) fail_expected(kWhere, "field 'epoch'", "≥ 0", std::to_string(epoch));
  if (index < 0 || index >= rows_)
    fail_expected(kWhere, "field 'index'", "in [0, " + std::to_string(rows_) + ")", std::to_string(index));
  start_epoch(epoch);
  index_ = index;
}

}  // namespace ll
