// world() of a build with MPI: MPI_COMM_WORLD when an MPI launcher started the process. Standard MPI
// only (Open MPI and MPICH). Counts travel in chunks of at most kMaxChunk elements, so that a buffer
// larger than an int can count is reduced all the same.
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "dist/communicator.h"
#include "dist/share.h"

namespace ll {

namespace {

constexpr int64_t kMaxChunk = int64_t{1} << 28;

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  fail_input("MPI", std::string(call) + " failed: " + std::string(text, length));
}

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int provided = 0;
    // Only the calling thread talks to MPI (OpenMP's threads never do).
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
    MPI_Comm machine;
    check(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &machine),
          "MPI_Comm_split_type");
    MPI_Comm_size(machine, &ranks_on_this_machine_);
    MPI_Comm_free(&machine);
  }

  int rank() const override { return rank_; }
  int ranks() const override { return ranks_; }
  int ranks_on_this_machine() const override { return ranks_on_this_machine_; }

  void all_reduce_sum(float* data, int64_t count) override { reduce(data, count, MPI_FLOAT); }
  void all_reduce_sum(double* data, int64_t count) override { reduce(data, count, MPI_DOUBLE); }

  bool same_on_all_ranks(uint64_t value) override {
    uint64_t low = value, high = value;
    check(MPI_Allreduce(MPI_IN_PLACE, &low, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
    check(MPI_Allreduce(MPI_IN_PLACE, &high, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
    return low == high;
  }

  void all_gather(float* data, int64_t count) override { gather(data, data, count, /*everyone=*/true); }
  void gather_to_root(const float* shard, float* whole, int64_t count) override {
    gather(shard, whole, count, /*everyone=*/false);
  }

 private:
  template <typename T>
  void reduce(T* data, int64_t count, MPI_Datatype type) {
    if (ranks_ == 1) return;
    collective_bytes_ += static_cast<uint64_t>(count) * sizeof(T);
    for (int64_t begin = 0; begin < count; begin += kMaxChunk) {
      const int n = static_cast<int>(std::min(kMaxChunk, count - begin));
      check(MPI_Allreduce(MPI_IN_PLACE, data + begin, n, type, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
    }
  }

  // Counts and displacements in blocks of kShardAlign floats (one MPI datatype), so that a buffer
  // of up to 2^31 blocks fits MPI's int counts.
  void gather(const float* shard, float* whole, int64_t count, bool everyone) {
    if (ranks_ == 1) return;
    LL_CHECK(count % kShardAlign == 0 && count / kShardAlign <= INT32_MAX);
    std::vector<int> counts(static_cast<size_t>(ranks_)), offsets(counts.size());
    for (int r = 0; r < ranks_; ++r) {
      const Share s = buffer_shard(count, r, ranks_);
      counts[static_cast<size_t>(r)] = static_cast<int>(s.size() / kShardAlign);
      offsets[static_cast<size_t>(r)] = static_cast<int>(s.begin / kShardAlign);
    }
    MPI_Datatype block;
    MPI_Type_contiguous(static_cast<int>(kShardAlign), MPI_FLOAT, &block);
    MPI_Type_commit(&block);
    const Share mine = buffer_shard(count, rank_, ranks_);
    collective_bytes_ += static_cast<uint64_t>(everyone ? count : mine.size()) * sizeof(float);
    int code;
    if (everyone) {
      code = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, whole, counts.data(), offsets.data(), block,
                            MPI_COMM_WORLD);
    } else if (rank_ == 0) {
      std::copy(shard, shard + mine.size(), whole + mine.begin);
      code = MPI_Gatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, whole, counts.data(), offsets.data(), block, 0,
                         MPI_COMM_WORLD);
    } else {
      code = MPI_Gatherv(shard, counts[static_cast<size_t>(rank_)], block, nullptr, nullptr, nullptr, block, 0,
                         MPI_COMM_WORLD);
    }
    MPI_Type_free(&block);
    check(code, everyone ? "MPI_Allgatherv" : "MPI_Gatherv");
  }

  int rank_ = 0, ranks_ = 1, ranks_on_this_machine_ = 1;
};

MpiWorld* mpi_world = nullptr;  // once world() has started MPI

}  // namespace

Communicator& world_if_started() { return mpi_world ? *mpi_world : one_process(); }

Communicator& world() {
  if (!launched_by_mpi_launcher()) return one_process();
  if (!mpi_world) mpi_world = new MpiWorld();
  return *mpi_world;
}

void finish_world() {
  if (!mpi_world) return;
  MPI_Finalize();
  delete mpi_world;
  mpi_world = nullptr;
}

void end_world_after_error(int status) {
  if (!mpi_world || mpi_world->ranks() == 1) return;
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, status);
}

}  // namespace ll
