#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "cli/exit_code.h"
#include "cli/inputs.h"

using namespace cci;

TEST_CASE("exit codes: every error class maps to the documented code") {
  using cli::ExitCode;
  CHECK(cli::exit_code_for(ErrorCode::kMalformed) == ExitCode::kRejected);
  CHECK(cli::exit_code_for(ErrorCode::kVerificationFailed) == ExitCode::kRejected);
  CHECK(cli::exit_code_for(ErrorCode::kUsage) == ExitCode::kUsage);
  CHECK(cli::exit_code_for(ErrorCode::kIo) == ExitCode::kCannotEvaluate);
  CHECK(cli::exit_code_for(ErrorCode::kInvalidInput) == ExitCode::kCannotEvaluate);
  CHECK(cli::exit_code_for(ErrorCode::kInternal) == ExitCode::kInternal);
}

TEST_CASE("exit codes: docs/exit-codes.md lists the same table") {
  std::ifstream f(std::string(CCI_SOURCE_DIR) + "/docs/exit-codes.md");
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  std::string doc = ss.str();
  for (const char* row : {"| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 130 |"}) {
    CAPTURE(row);
    CHECK(doc.find(row) != std::string::npos);
  }
}

TEST_CASE("parse_time: accepted forms and clear errors") {
  auto a = cli::parse_time("2025-06-01T12:00:00Z");
  REQUIRE(a);
  CHECK(*a == 1748779200);
  auto b = cli::parse_time("2025-06-01");
  REQUIRE(b);
  CHECK(*b == 1748736000);
  auto c = cli::parse_time("@1748779200");
  REQUIRE(c);
  CHECK(*c == 1748779200);
  CHECK(cli::format_time(1748779200) == "2025-06-01T12:00:00Z");
  auto bad = cli::parse_time("yesterday");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::kUsage);
  CHECK_FALSE(cli::parse_time("2025-06-01T12:00:00"));
}
