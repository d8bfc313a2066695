#include "demo/subprocess.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace ll::demo {

void run_longlora(const std::string& step, const std::vector<std::string>& args) {
  char self[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) fail_input("demo", "cannot find the longlora binary (/proc/self/exe)");
  self[n] = '\0';
  std::vector<char*> argv = {self};
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) fail_input("demo", std::string("cannot start ") + step + ": " + std::strerror(errno));
  if (pid == 0) {
    ::execv(self, argv.data());
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
