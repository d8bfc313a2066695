#include "train/disk_space.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "model/memory_plan.h"

namespace ll {

uint64_t available_bytes(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path p = fs::absolute(path).lexically_normal();
  std::error_code ec;
  while (!fs::exists(p, ec) && p.has_parent_path() && p.parent_path() != p) p = p.parent_path();
  struct statvfs st {};
  if (::statvfs(p.c_str(), &st) != 0) fail_input(path, std::string("cannot query free space: ") + std::strerror(errno));
  return static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
}

void check_available_bytes(const std::string& dir, uint64_t needed, const std::string& what) {
  const uint64_t free = available_bytes(dir);
  if (free < needed)
    fail_input(dir, "needs about " + format_bytes(needed) + " free for " + what + "; the filesystem has " +
                        format_bytes(free) + " free");
}

}  // namespace ll
