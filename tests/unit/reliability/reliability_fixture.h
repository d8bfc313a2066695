// Shared pieces of the reliability tests: a tiny random LLaMA that needs no shared data (its
// tokenizer.model is the fuzz targets' small vocabulary), random token files, and `longlora train`
// started as a child process that can be killed, interrupted or limited (file size, user).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ll::test {

// An HF directory: 2 layers, hidden 48, 6 heads / 2 KV heads, FFN 97, the small vocabulary.
void write_tiny_model(const std::string& dir, uint64_t seed = 7);
// `n` random ids of the small vocabulary as a headerless u16 token file.
void write_random_tokens(const std::string& path, int64_t n, uint64_t seed);

// How to start the child.
struct ChildOptions {
  std::string log;          // stdout and stderr go here ("" = /dev/null)
  int64_t file_size_limit = -1;  // RLIMIT_FSIZE in bytes (SIGXFSZ ignored, so writes fail with EFBIG)
  bool as_nobody = false;   // run as uid/gid 65534 (root tests of permission errors)
  std::string tmpfs;        // mount a private tmpfs here first, with these mount options (root only)
  std::string tmpfs_options;
};

// Options with only the log set.
ChildOptions log_to(const std::string& path);

// Starts build/longlora with `args`; returns its pid.
pid_t start_longlora(const std::vector<std::string>& args, const ChildOptions& options = {});
// Waits for the child; returns its wait status.
int wait_for(pid_t pid);
// Runs longlora to completion with `options`; returns the wait status (log in options.log).
int run_longlora(const std::vector<std::string>& args, const ChildOptions& options);

// Whether this process may mount a private tmpfs (root, with unshare(CLONE_NEWNS) allowed).
bool can_mount_private_tmpfs();

// Every regular file under `dir`: relative paths, sorted; and with its bytes.
std::vector<std::string> files_under(const std::string& dir);
std::vector<std::pair<std::string, std::string>> files_and_bytes(const std::string& dir);

}  // namespace ll::test
