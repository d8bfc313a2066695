// The ranks' layout (dist/share.h) and the launcher detection (dist/communicator.h); the collectives
// themselves run under mpirun in tests/mpi.
#include <gtest/gtest.h>

#include <cstdlib>

#include "dist/communicator.h"
#include "dist/share.h"

namespace ll {
namespace {

TEST(Share, ContiguousBlocksCoverEveryItemOnce) {
  for (int64_t n : {0, 1, 5, 8, 13})
    for (int ranks : {1, 2, 3, 4, 7}) {
      int64_t next = 0;
      for (int r = 0; r < ranks; ++r) {
        const Share s = share_of(n, r, ranks);
        EXPECT_EQ(s.begin, next) << n << " items, rank " << r << " of " << ranks;
        EXPECT_GE(s.size(), n / ranks);
        EXPECT_LE(s.size(), n / ranks + 1);
        next = s.end;
      }
      EXPECT_EQ(next, n) << n << " items over " << ranks;
    }
}

TEST(Share, AnUpdatesMicroBatchesGoAPerRank) {
  // R ranks × grad-accum A: rank r computes micro-batches [r·A, (r+1)·A) of the update.
  const Share s = share_of(4 * 3, 2, 4);
  EXPECT_EQ(s.begin, 6);
  EXPECT_EQ(s.end, 9);
  EXPECT_TRUE(s.contains(8));
  EXPECT_FALSE(s.contains(9));
}

TEST(Communicator, OneProcessIsRankZeroOfOneAndReducesToItself) {
  Communicator& c = one_process();
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.ranks(), 1);
  EXPECT_TRUE(c.is_root());
  float x[] = {1.5f, -2.f};
  c.all_reduce_sum(x, 2);
  EXPECT_EQ(x[0], 1.5f);
  EXPECT_EQ(x[1], -2.f);
  EXPECT_TRUE(c.same_on_all_ranks(42));
}

TEST(Communicator, LauncherIsRecognisedByItsVariables) {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) ::unsetenv(v);
  EXPECT_FALSE(launched_by_mpi_launcher());
  EXPECT_EQ(launcher_ranks(), 1);
  ::setenv("PMI_SIZE", "3", 1);  // MPICH's Hydra
  EXPECT_TRUE(launched_by_mpi_launcher());
  EXPECT_EQ(launcher_ranks(), 3);
  ::unsetenv("PMI_SIZE");
  ::setenv("OMPI_COMM_WORLD_SIZE", "1", 1);  // mpirun -np 1: one process, nothing changes
  EXPECT_FALSE(launched_by_mpi_launcher());
  ::unsetenv("OMPI_COMM_WORLD_SIZE");
  ::setenv("PMIX_RANK", "0", 1);  // srun with PMIx names no size
  EXPECT_TRUE(launched_by_mpi_launcher());
  ::unsetenv("PMIX_RANK");
}

}  // namespace
}  // namespace ll
