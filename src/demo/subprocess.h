// Runs a longlora subcommand as a child process of this very binary (so every demo step is the
// real CLI, its progress shows, and its peak memory is its own).
#pragma once
#include <string>
#include <vector>

namespace ll::demo {

// Runs `longlora <args…>` and waits; InputError naming the step when it fails.
void run_longlora(const std::string& step, const std::vector<std::string>& args);

}  // namespace ll::demo
