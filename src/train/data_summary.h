// Names and numbers for the one-line data summaries (BatchSource::describe()).
#pragma once
#include <cstdint>
#include <string>

namespace ll {

// Three significant digits with a K/M/G suffix from 1000 on: 999, 12.3K, 506K, 2.29M.
std::string short_count(int64_t n);

// The last component of a data path, for summaries: "austen" for "/data/austen/", "a.txt" for "x/a.txt".
std::string data_name(const std::string& path);

}  // namespace ll
