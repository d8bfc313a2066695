// longlora: command-line entry point. Each subcommand lives in its own file (cmd_*.cpp).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    std::fputs(ll::cli::usage().c_str(), argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  try {
    return ll::cli::dispatch(argv[1], argc - 2, argv + 2);
  } catch (const ll::InputError& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "longlora: error: %s\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    std::fflush(stdout);
    std::fprintf(stderr, "longlora: error: out of memory\n");
    return 2;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "longlora: internal error: %s\n", e.what());
    return 1;
  }
}
