#include "support/test_support.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ll::test {

namespace fs = std::filesystem;

std::string source_dir() { return LL_SOURCE_DIR; }
std::string binary_dir() { return LL_BINARY_DIR; }

std::string shared_data_dir() {
  static const std::string dir = [] {
    const char* env = std::getenv("LONGLORA_SHARED_DATA");
    std::string d = env ? env : source_dir() + "/../shared/data";
    return fs::is_directory(d) ? fs::canonical(d).string() : std::string();
  }();
  return dir;
}

std::string shared_path(const std::string& rel) { return shared_data_dir() + "/" + rel; }

static std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

int run_command(const std::string& cmd, std::string* output) {
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = pclose(p);
  if (output) *output = out;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool have_torch() {
  static const bool ok = run_command("/usr/bin/python3 -c 'import torch, numpy'", nullptr) == 0;
  return ok;
}

static bool run_python(const std::string& python, const std::string& script_path, const std::vector<std::string>& args,
                       std::string* output) {
  std::string cmd = python + " " + shell_quote(script_path);
  for (const auto& a : args) cmd += " " + shell_quote(a);
  std::string out;
  const int st = run_command(cmd, &out);
  if (output) *output = out;
  if (st != 0) {
    ADD_FAILURE() << "python failed (" << st << "): " << cmd << "\n" << out;
    return false;
  }
  return true;
}

bool run_oracle(const std::string& script, const std::vector<std::string>& args) {
  return run_python("/usr/bin/python3", source_dir() + "/tests/reference/" + script, args, nullptr);
}

bool have_clients() {
  static const bool ok =
      run_command(shell_quote(source_dir() + "/scripts/python-clients.sh") + " --check", nullptr) == 0;
  return ok;
}

bool run_client(const std::string& script, const std::vector<std::string>& args, std::string* output) {
  return run_python(shell_quote(source_dir() + "/build/venv/bin/python"), source_dir() + "/tests/interop/" + script,
                    args, output);
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  const std::string base = binary_dir() + "/test-tmp";
  fs::create_directories(base);
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name() : "tmp";
  for (char& c : name)
    if (c == '/') c = '_';
  path_ = base + "/" + name + "." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fs::remove_all(path_);
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CliResult run_cli(const std::vector<std::string>& args) {
  TempDir tmp;
  std::string cmd = shell_quote(binary_dir() + "/longlora");
  for (const auto& a : args) cmd += " " + shell_quote(a);
  cmd += " >" + shell_quote(tmp.file("out")) + " 2>" + shell_quote(tmp.file("err"));
  const int st = std::system(cmd.c_str());
  CliResult r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = read_file(tmp.file("out"));
  r.err = read_file(tmp.file("err"));
  return r;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace ll::test
