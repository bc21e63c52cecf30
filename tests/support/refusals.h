// One helper for the table-driven tests of hostile input: each input must be refused, and the
// error's message must say the reason the case names (not only be refused for another one).
#pragma once

#include <doctest/doctest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cci::test {

template <class Input, class Parse>
void check_refusals(const std::vector<std::pair<Input, std::string>>& cases, Parse parse) {
  for (const auto& item : cases) {
    const std::string& why = item.second;  // a named copy: clang 14 cannot CAPTURE a structured binding
    CAPTURE(why);
    auto r = parse(item.first);
    REQUIRE_FALSE(r);
    CHECK_MESSAGE(r.error().message.find(why) != std::string::npos, r.error().message);
  }
}

// The same for edits of one good document: each edit applied to a copy of `base` must be refused
// for its reason.
template <class Doc, class Parse>
void check_edits_refused(const Doc& base, const std::vector<std::pair<std::function<void(Doc&)>, std::string>>& edits, Parse parse) {
  std::vector<std::pair<Doc, std::string>> cases;
  for (const auto& edit : edits) {
    Doc d = base;
    edit.first(d);
    cases.emplace_back(std::move(d), edit.second);
  }
  check_refusals(cases, parse);
}

}  // namespace cci::test
