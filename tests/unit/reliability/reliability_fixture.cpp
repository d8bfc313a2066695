#include "unit/reliability/reliability_fixture.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "core/error.h"
#include "formats/llama_config.h"
#include "model/init_weights.h"
#include "small_tokenizer.h"
#include "support/test_support.h"
#include "text/sentencepiece_model.h"

namespace ll::test {

namespace fs = std::filesystem;

void write_tiny_model(const std::string& dir, uint64_t seed) {
  const Vocab& vocab = fuzz::small_tokenizer().vocab();
  fs::create_directories(dir);
  const std::string tokenizer = dir + ".tokenizer.model";
  write_file(tokenizer, serialize_sentencepiece_model(vocab));
  LlamaConfig c;
  c.hidden_size = 48;
  c.intermediate_size = 97;
  c.num_layers = 2;
  c.num_heads = 6;
  c.num_kv_heads = 2;
  c.head_dim = 8;
  c.vocab_size = vocab.size();
  c.max_position_embeddings = 64;
  c.rms_norm_eps = 1e-5f;
  write_initialized_llama(dir, c, seed, DType::F32, tokenizer, /*initializer_range=*/0.1);
  fs::remove(tokenizer);
}

void write_random_tokens(const std::string& path, int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> id(3, fuzz::small_tokenizer().vocab_size() - 1);
  std::string bytes(static_cast<size_t>(2 * n), '\0');
  for (int64_t i = 0; i < n; ++i) {
    const auto v = static_cast<uint16_t>(id(rng));
    bytes[2 * i] = static_cast<char>(v & 0xff);
    bytes[2 * i + 1] = static_cast<char>(v >> 8);
  }
  write_file(path, bytes);
}

namespace {

// In the child, before exec: only async-signal-safe calls, then _exit on failure.
[[noreturn]] void exec_child(const std::vector<char*>& argv, const ChildOptions& o) {
  const int out = o.log.empty() ? ::open("/dev/null", O_WRONLY) : ::open(o.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0) ::_exit(120);
  ::dup2(out, 1);
  ::dup2(out, 2);
  if (!o.tmpfs.empty()) {
    if (::unshare(CLONE_NEWNS) != 0) ::_exit(121);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ::_exit(122);
    if (::mount("tmpfs", o.tmpfs.c_str(), "tmpfs", 0, o.tmpfs_options.c_str()) != 0) ::_exit(123);
  }
  if (o.file_size_limit >= 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // inherited through exec: a write past the limit fails with EFBIG
    const rlimit limit{static_cast<rlim_t>(o.file_size_limit), static_cast<rlim_t>(o.file_size_limit)};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(124);
  }
  if (o.as_nobody && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(125);
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

}  // namespace

ChildOptions log_to(const std::string& path) {
  ChildOptions o;
  o.log = path;
  return o;
}

pid_t start_longlora(const std::vector<std::string>& args, const ChildOptions& options) {
  std::vector<std::string> argv_s = {binary_dir() + "/longlora"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(argv, options);
  LL_CHECK(pid > 0);
  return pid;
}

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return -1;
  return status;
}

int run_longlora(const std::vector<std::string>& args, const ChildOptions& options) {
  return wait_for(start_longlora(args, options));
}

bool can_mount_private_tmpfs() {
  if (::geteuid() != 0) return false;
  TempDir dir;
  ChildOptions o;
  o.tmpfs = dir.path();
  o.tmpfs_options = "size=64k";
  // `longlora --help` inside the namespace: exit 0 only when the mount worked.
  const int status = run_longlora({"--help"}, o);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::vector<std::string> files_under(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.push_back(fs::relative(e.path(), dir).string());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::pair<std::string, std::string>> files_and_bytes(const std::string& dir) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) files.emplace_back(fs::relative(e.path(), dir).string(), read_file(e.path().string()));
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace ll::test
