// The demo's corpus parser: `bible -f` lines become books (documents) keeping "<chapter>:<verse> <text>".
#include "demo/bible_corpus.h"

#include <gtest/gtest.h>

namespace ll::demo {
namespace {

TEST(BibleCorpus, SplitsBooksAndKeepsChapterAndVerse) {
  const std::string listing =
      "Ge1:1 In the beginning God created the heaven and the earth.\n"
      "Ge1:2 And the earth was without form, and void.\n"
      "Ge50:26 So Joseph died.\n"
      "1Sm1:1 Now there was a certain man of Ramathaimzophim.\n"
      "not a verse line\n"
      "1Sm12:10 And they cried unto the LORD.\n";
  const std::vector<Book> books = parse_kjv(listing);
  ASSERT_EQ(books.size(), 2u);
  EXPECT_EQ(books[0].name, "Ge");
  EXPECT_EQ(books[0].text,
            "1:1 In the beginning God created the heaven and the earth.\n"
            "1:2 And the earth was without form, and void.\n"
            "50:26 So Joseph died.\n");
  EXPECT_EQ(books[1].name, "1Sm");
  EXPECT_EQ(books[1].text,
            "1:1 Now there was a certain man of Ramathaimzophim.\n"
            "12:10 And they cried unto the LORD.\n");
}

TEST(BibleCorpus, TheInstalledBibleHasSixtySixBooks) {
  std::vector<Book> books;
  try {
    books = read_kjv_books();
  } catch (const std::exception& e) {
    GTEST_SKIP() << e.what();
  }
  ASSERT_EQ(books.size(), 66u);
  EXPECT_EQ(books.front().text.rfind("1:1 In the beginning God created the heaven and the earth.\n", 0), 0u);
  EXPECT_EQ(books.back().name, "Rev");
}

}  // namespace
}  // namespace ll::demo
