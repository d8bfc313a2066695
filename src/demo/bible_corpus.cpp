#include "demo/bible_corpus.h"

#include <cctype>
#include <cstdio>
#include <sstream>

#include "core/error.h"

namespace ll::demo {

std::vector<Book> parse_kjv(const std::string& listing) {
  std::vector<Book> books;
  std::istringstream in(listing);
  std::string line;
  while (std::getline(in, line)) {
    // "<Book><chapter>:<verse> <text>": the book is the prefix before the chapter digits (a
    // leading digit belongs to names like "1Sm"). The document keeps "<chapter>:<verse> <text>":
    // the references count up through the book, so predicting one means finding the last one,
    // a dependency on context beyond the current verse.
    const size_t space = line.find(' ');
    if (space == std::string::npos || line.find(':') > space) continue;
    size_t name_end = space;
    while (name_end > 0 && (std::isdigit(static_cast<unsigned char>(line[name_end - 1])) || line[name_end - 1] == ':'))
      --name_end;
    if (name_end == 0) continue;
    const std::string name = line.substr(0, name_end);
    if (books.empty() || books.back().name != name) books.push_back({name, ""});
    books.back().text += line.substr(name_end);
    books.back().text += '\n';
  }
  return books;
}

std::vector<Book> read_kjv_books() {
  FILE* p = ::popen("bible -f Gen1:1-Rev22:21 2>/dev/null", "r");
  std::string out;
  if (p) {
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  std::vector<Book> books = parse_kjv(out);
  if (books.size() != 66)
    fail_input("bible", "the King James Bible is not available (found " + std::to_string(books.size()) +
                            " books; install Debian's bible-kjv: scripts/install-deps.sh)");
  return books;
}

}  // namespace ll::demo
