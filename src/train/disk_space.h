// Free space where a run writes, checked before training starts: a run that cannot hold its next
// checkpoint and its outputs is refused up front rather than failing hours later.
#pragma once
#include <cstdint>
#include <string>

namespace ll {

// Bytes an unprivileged writer may still use on the filesystem holding `path` (or, when it does
// not exist yet, its nearest existing ancestor). InputError naming the path when statvfs fails.
uint64_t available_bytes(const std::string& path);

// InputError "<dir>: needs about <needed> free for <what>; the filesystem has <free> free" unless
// available_bytes(dir) ≥ needed.
void check_available_bytes(const std::string& dir, uint64_t needed, const std::string& what);

}  // namespace ll
