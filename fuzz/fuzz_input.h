// What every fuzz target shares: the input as a file (the parsers read files through mmap, as
// they do in use), and the rule that malformed input may only ever throw ll::InputError. Any other
// exception escapes LLVMFuzzerTestOneInput and libFuzzer reports it as a crash, as it does
// sanitizer findings, hangs (-timeout) and allocations above -rss_limit_mb / -malloc_limit_mb.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"

namespace ll::fuzz {

// A directory of this process's own under /dev/shm (or the temp directory), removed at exit.
const std::string& scratch_dir();

// Writes the bytes to scratch_dir()/name (replacing the previous input) and returns its path.
std::string write_input(const std::string& name, const uint8_t* data, size_t size);
std::string write_input(const std::string& name, std::string_view bytes);

// Reads every byte of [data, data + n): a view that reaches past its file faults here.
uint64_t touch(const void* data, size_t n);

// Runs parse(): it may succeed or throw ll::InputError; anything else propagates (a finding).
template <class F>
void expect_input_errors_only(F&& parse) {
  try {
    parse();
  } catch (const InputError&) {
  }
}

}  // namespace ll::fuzz
