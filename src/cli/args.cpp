#include "cli/args.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace ll::cli {

Args::Args(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

Args& Args::option(const std::string& name, const std::string& default_value, const std::string& help,
                   const std::string& value_name) {
  order_.push_back(name);
  specs_[name] = {default_value, help, value_name, false};
  return *this;
}

Args& Args::flag(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {"", help, "", true};
  return *this;
}

Args& Args::alias(const std::string& short_name, const std::string& name) {
  aliases_[short_name] = name;
  return *this;
}

const Args::Spec& Args::spec(const std::string& name) const {
  auto it = specs_.find(name);
  LL_CHECK(it != specs_.end());
  return it->second;
}

bool Args::parse(int argc, char** argv) {
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(help().c_str(), stdout);
      return false;
    }
    std::string value;
    bool has_inline_value = false;
    if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_inline_value = true;
    }
    if (auto al = aliases_.find(a); al != aliases_.end()) a = al->second;
    auto it = specs_.find(a);
    if (it == specs_.end())
      fail_input("longlora " + command_, "unknown option '" + a + "' (see longlora " + command_ + " --help)");
    if (it->second.is_flag) {
      if (has_inline_value) fail_input("longlora " + command_, "option " + a + " takes no value");
      values_[a] = "1";
      continue;
    }
    if (!has_inline_value) {
      if (i + 1 >= argc) fail_input("longlora " + command_, "option " + a + " needs a value");
      value = argv[++i];
    }
    values_[a] = value;
  }
  return true;
}

bool Args::given(const std::string& name) const {
  spec(name);
  return values_.count(name) > 0;
}

bool Args::has(const std::string& name) const { return !str(name).empty(); }

std::string Args::str(const std::string& name) const {
  const Spec& s = spec(name);
  auto it = values_.find(name);
  return it != values_.end() ? it->second : s.default_value;
}

std::string Args::required(const std::string& name) const {
  std::string v = str(name);
  if (v.empty()) fail_input("longlora " + command_, "missing required option " + name);
  return v;
}

long long Args::integer(const std::string& name) const {
  const std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  const long long x = std::strtoll(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0)
    fail_expected("longlora " + command_, "option " + name, "an integer", "'" + v + "'");
  return x;
}

double Args::number(const std::string& name) const {
  const std::string v = str(name);
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0)
    fail_expected("longlora " + command_, "option " + name, "a number", "'" + v + "'");
  return x;
}

bool Args::enabled(const std::string& name) const {
  LL_CHECK(spec(name).is_flag);
  return values_.count(name) > 0;
}

std::vector<std::string> Args::string_list(const std::string& name) const {
  std::vector<std::string> out;
  const std::string v = str(name);
  size_t start = 0;
  while (start <= v.size() && !v.empty()) {
    size_t comma = v.find(',', start);
    if (comma == std::string::npos) comma = v.size();
    std::string item = v.substr(start, comma - start);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

std::vector<long long> Args::integer_list(const std::string& name) const {
  std::vector<long long> out;
  for (const auto& item : string_list(name)) {
    errno = 0;
    char* end = nullptr;
    const long long x = std::strtoll(item.c_str(), &end, 10);
    if (*end != '\0' || errno != 0)
      fail_expected("longlora " + command_, "option " + name, "comma-separated integers", "'" + item + "'");
    out.push_back(x);
  }
  return out;
}

std::string Args::help() const {
  std::string h = "usage: longlora " + command_ + " [options]\n" + summary_ + "\n\noptions:\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    std::string left = "  " + name + (s.is_flag ? "" : " " + s.value_name);
    for (const auto& [short_name, long_name] : aliases_)
      if (long_name == name) left += ", " + short_name;
    if (left.size() < 28) left.resize(28, ' ');
    else left += "\n" + std::string(28, ' ');
    h += left + s.help;
    if (!s.is_flag && !s.default_value.empty()) h += " (default " + s.default_value + ")";
    h += "\n";
  }
  return h;
}

}  // namespace ll::cli
