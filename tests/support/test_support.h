// Helpers shared by the tests: where things are, the PyTorch oracle, temp dirs, the CLI.
#pragma once
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace ll::test {

std::string source_dir();  // the repository root
std::string binary_dir();  // the CMake build directory

// ../shared/data (or $LONGLORA_SHARED_DATA); empty when absent.
std::string shared_data_dir();
// Skips the current test with a clear message when ../shared/data is absent.
#define LL_REQUIRE_SHARED_DATA()                                                             \
  do {                                                                                       \
    if (::ll::test::shared_data_dir().empty())                                               \
      GTEST_SKIP() << "../shared/data not found (set LONGLORA_SHARED_DATA); skipping test " \
                      "that needs the real artifacts";                                       \
  } while (0)
std::string shared_path(const std::string& rel);  // shared_data_dir() + "/" + rel

// True when /usr/bin/python3 can import torch (Debian's python3-torch).
bool have_torch();
#define LL_REQUIRE_TORCH()                                                                  \
  do {                                                                                      \
    if (!::ll::test::have_torch())                                                          \
      GTEST_SKIP() << "python3-torch not installed (scripts/install-deps.sh installs it); " \
                      "skipping PyTorch oracle test";                                       \
  } while (0)

// Runs tests/reference/<script> with /usr/bin/python3 and the given arguments; fails the test
// (ADD_FAILURE + returns false) when it exits non-zero, with its output in the message.
bool run_oracle(const std::string& script, const std::vector<std::string>& args);

// The ecosystem's clients (transformers, PEFT, tokenizers, gguf, llama-cpp-python) in build/venv,
// installed by scripts/python-clients.sh. Absent: the test fails when LONGLORA_REQUIRE_CLIENTS is
// set (the test command, CI), and skips with a message otherwise.
bool have_clients();
#define LL_REQUIRE_CLIENTS()                                                                           \
  do {                                                                                                 \
    if (!::ll::test::have_clients()) {                                                                 \
      if (std::getenv("LONGLORA_REQUIRE_CLIENTS"))                                                     \
        FAIL() << "the Python clients are not installed in build/venv (scripts/python-clients.sh)";    \
      GTEST_SKIP() << "build/venv lacks the Python clients (run scripts/python-clients.sh); skipping " \
                      "interop test";                                                                  \
    }                                                                                                  \
  } while (0)

// Runs tests/interop/<script> with build/venv's python; fails the test (ADD_FAILURE + returns false)
// when it exits non-zero. `output` (optional) receives its stdout and stderr.
bool run_client(const std::string& script, const std::vector<std::string>& args, std::string* output = nullptr);

// A fresh directory under the build tree, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs the longlora binary; captures exit status, stdout and stderr.
struct CliResult {
  int status = -1;
  std::string out, err;
};
CliResult run_cli(const std::vector<std::string>& args);

// Runs a shell command; returns its exit status and fills `output` with stdout+stderr.
int run_command(const std::string& cmd, std::string* output);

void write_file(const std::string& path, const std::string& bytes);
std::string read_file(const std::string& path);

}  // namespace ll::test
