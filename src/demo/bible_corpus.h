// The demo's corpus: the King James Bible from Debian's bible-kjv (`bible -f Gen1:1-Rev22:21`),
// split into its 66 books, one document each: one verse per line, "<chapter>:<verse> <text>".
#pragma once
#include <string>
#include <vector>

namespace ll::demo {

struct Book {
  std::string name;  // the program's abbreviation: "Ge", "Exo", …, "Rev"
  std::string text;  // verses, one per line: "1:1 In the beginning God created ..."
};

// Runs the `bible` program; InputError naming the package when it is missing or prints nothing.
std::vector<Book> read_kjv_books();

// Parses `bible -f` output ("Ge1:1 In the beginning ..." lines) into books, in order.
std::vector<Book> parse_kjv(const std::string& listing);

}  // namespace ll::demo
