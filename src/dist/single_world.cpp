// world() of a build without MPI (CMake found none, or LONGLORA_MPI=OFF): one rank.
#include <string>

#include "core/error.h"
#include "dist/communicator.h"

namespace ll {

Communicator& world_if_started() { return one_process(); }

Communicator& world() {
  if (const int ranks = launcher_ranks(); ranks > 1)
    fail_input("mpirun -np " + std::to_string(ranks),
               "this longlora was built without MPI, so its ranks would each run alone (scripts/install-deps.sh "
               "installs Open MPI; then rebuild with scripts/build.sh)");
  return one_process();
}

void finish_world() {}
void end_world_after_error(int) {}

}  // namespace ll
