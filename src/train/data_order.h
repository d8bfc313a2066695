// The order in which a BatchSource reads its rows, and the cursor that lets a resumed run read
// exactly the rows it would have read. Shared by the pre-training and SFT sources.
//
// Epoch e reads the rows in the order make_order(e), typically a seeded permutation that depends
// on (seed, e) only: deterministic for a seed, different across epochs and seeds, and the same on
// every platform (our own generator and Fisher-Yates, not the standard library's distributions).
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace ll {

// A permutation of [0, n) from (seed, epoch).
std::vector<int64_t> seeded_permutation(int64_t n, uint64_t seed, int64_t epoch);
// seeded_permutation() when shuffling, otherwise 0, 1, …, n−1.
std::vector<int64_t> epoch_order(int64_t n, uint64_t seed, int64_t epoch, bool shuffle);

// 64-bit FNV-1a over what identifies a data set and its options, for cursors.
class Fingerprint {
 public:
  void add(uint64_t value);
  void add(std::string_view bytes);
  std::string hex() const;  // 16 hex digits

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
};

// Walks row indices epoch by epoch. The cursor is {"epoch", "index" (rows of that epoch already
// read), "seed", "fingerprint"}; restore() refuses a cursor of other data or options.
class EpochWalker {
 public:
  using MakeOrder = std::function<std::vector<int64_t>(int64_t epoch)>;  // a permutation of [0, rows)
  EpochWalker(int64_t rows, uint64_t seed, std::string fingerprint, MakeOrder make_order);

  int64_t next();  // the next row; after the last row of an epoch, the first of the next one
  int64_t epoch() const { return epoch_; }
  int64_t index() const { return index_; }
  int64_t rows() const { return rows_; }

  nlohmann::json cursor() const;
  // InputError "data cursor: ..." when the cursor is malformed or belongs to other data/options.
  void restore(const nlohmann::json& cursor);

 private:
  void start_epoch(int64_t epoch);

  int64_t rows_;
  uint64_t seed_;
  std::string fingerprint_;
  MakeOrder make_order_;
  int64_t epoch_ = 0, index_ = 0;
  std::vector<int64_t> order_;  // of epoch_
};

}  // namespace ll
