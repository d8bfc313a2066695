// Every fuzz target (fuzz/targets.h) over its seed corpus (fuzz/corpus/<name>) and over every
// input a fuzzer once found to crash it (fuzz/regressions/<name>): each must be read or refused
// with an InputError — nothing else escapes, and the sanitizer build checks memory on the way.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "support/test_support.h"
#include "targets.h"

namespace ll {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> files;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

void run_all(const fuzz::Target& target, const std::vector<std::string>& files) {
  for (const std::string& path : files) {
    SCOPED_TRACE(path);
    const std::string bytes = test::read_file(path);
    try {
      target.run(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    } catch (const std::exception& e) {
      ADD_FAILURE() << target.name << " let an exception other than InputError escape: " << e.what();
    }
  }
}

class FuzzTarget : public ::testing::TestWithParam<fuzz::Target> {};

TEST_P(FuzzTarget, ReadsOrRefusesEverySeed) {
  const auto seeds = files_in(test::source_dir() + "/fuzz/corpus/" + GetParam().name);
  ASSERT_FALSE(seeds.empty()) << "fuzz/corpus/" << GetParam().name << " holds no seed";
  run_all(GetParam(), seeds);
}

INSTANTIATE_TEST_SUITE_P(Parsers, FuzzTarget, ::testing::ValuesIn(fuzz::all_targets()),
                         [](const auto& info) { return info.param.name; });

TEST(FuzzTargets, PastFindingsAreRefusedCleanly) {
  size_t findings = 0;
  for (const fuzz::Target& target : fuzz::all_targets()) {
    const auto files = files_in(test::source_dir() + "/fuzz/regressions/" + target.name);
    run_all(target, files);
    findings += files.size();
  }
  EXPECT_GT(findings, 0u) << "fuzz/regressions holds no past finding";
}

TEST(FuzzTargets, EveryCorpusDirectoryHasATarget) {
  std::set<std::string> names;
  for (const auto& t : fuzz::all_targets()) names.insert(t.name);
  for (const char* root : {"/fuzz/corpus", "/fuzz/regressions"})
    for (const auto& e : fs::directory_iterator(test::source_dir() + root))
      EXPECT_TRUE(names.count(e.path().filename().string())) << e.path() << " belongs to no target";
}

}  // namespace
}  // namespace ll
