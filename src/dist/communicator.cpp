#include <cstdlib>
#include <string>

#include "dist/communicator.h"

namespace ll {

namespace {

// Open MPI's mpirun; MPICH's Hydra (and Intel MPI); Slurm's srun with PMIx (which names no size).
constexpr const char* kSizeVariables[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
constexpr const char* kRankOnlyVariable = "PMIX_RANK";

}  // namespace

Communicator& one_process() {
  static SingleProcess single;
  return single;
}

bool launched_by_mpi_launcher() { return launcher_ranks() != 1; }

int launcher_ranks() {
  for (const char* variable : kSizeVariables)
    if (const char* size = std::getenv(variable)) return std::atoi(size);
  return std::getenv(kRankOnlyVariable) ? 0 : 1;
}

}  // namespace ll
