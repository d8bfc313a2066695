#include "demo/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace ll::demo {

void run_longlora(const std::string& step, const std::vector<std::string>& args) {
  // /proc/self/exe names this process's own executable even after the file on disk was rebuilt
  // or removed, so every stage runs the binary the demo started with.
  static char self[] = "/proc/self/exe";
  static char argv0[] = "longlora";
  std::vector<char*> argv = {argv0};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) fail_input("demo", std::string("cannot start ") + step + ": " + std::strerror(errno));
  if (pid == 0) {
    ::execv(self, argv.data());
    std::fprintf(stderr, "longlora: error: demo: cannot run %s: %s\n", self, std::strerror(errno));
    std::_Exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail_input("demo", step + " failed (" +
                           (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                              : "killed by signal " + std::to_string(WTERMSIG(status))) +
                           "); see its message above. Rerun `longlora demo` to continue from the cache");
}

}  // namespace ll::demo
