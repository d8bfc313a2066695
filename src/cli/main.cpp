// longlora: command-line entry point. Each subcommand lives in its own file (cmd_*.cpp).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "dist/communicator.h"

namespace {

// "longlora: error: …", naming the rank when the run spans several (mpirun); then every rank ends
// with `status` (dist/communicator.h), so that none waits on this one.
int fail_with(int status, const char* kind, const char* message) {
  std::fflush(stdout);
  const ll::Communicator& comm = ll::world_if_started();
  if (comm.ranks() > 1)
    std::fprintf(stderr, "longlora: rank %d of %d: %s: %s\n", comm.rank(), comm.ranks(), kind, message);
  else
    std::fprintf(stderr, "longlora: %s: %s\n", kind, message);
  ll::end_world_after_error(status);
  return status;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(ll::cli::usage().c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  try {
    const int status = ll::cli::dispatch(argv[1], argc - 2, argv + 2);
    ll::finish_world();
    return status;
  } catch (const ll::InputError& e) {
    return fail_with(2, "error", e.what());
  } catch (const std::bad_alloc&) {
    return fail_with(2, "error", "out of memory");
  } catch (const std::exception& e) {
    return fail_with(1, "internal error", e.what());
  }
}
