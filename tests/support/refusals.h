// One helper for the table-driven tests of hostile input: each input must be refused, and the
// error's message must say the reason the case names (not only be refused for another one).
#pragma once

#include <doctest/doctest.h>

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

}  // namespace cci::test
