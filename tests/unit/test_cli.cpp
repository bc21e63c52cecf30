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

using cli::ExitCode;

TEST_CASE("exit codes: docs/man/common/exit-status.md is the rendering of the one table") {
  std::ifstream f(std::string(CCI_SOURCE_DIR) + "/docs/man/common/exit-status.md");
  REQUIRE(f.good());
  std::stringstream ss;
  ss << f.rdbuf();
  CHECK(ss.str() == cli::exit_status_markdown());
  // Every code of the enum is in the table, once.
  for (ExitCode c : {ExitCode::kOk, ExitCode::kRejected, ExitCode::kUsage, ExitCode::kCannotEvaluate, ExitCode::kInternal,
                     ExitCode::kInterrupted}) {
    int n = 0;
    for (const auto& row : cli::kExitCodes) n += row.code == c;
    CHECK(n == 1);
  }
  CHECK(cli::exit_status_help("cci-bench", {{1, "goals missed with --check"}}) ==
        "Exit status: 0 ok, 1 goals missed with --check, 2 usage, 3 cannot evaluate, 4 internal, 130 interrupted. See man cci-bench.");
}

TEST_CASE("exit codes: each manual's EXIT STATUS section points at the one table") {
  for (const char* page : {"cci-measure", "cci-verify", "cci-run", "cci-bench"}) {
    CAPTURE(page);
    std::ifstream f(std::string(CCI_SOURCE_DIR) + "/docs/man/" + page + ".1.md");
    REQUIRE(f.good());
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    const auto at = text.find("# EXIT STATUS");
    REQUIRE(at != std::string::npos);
    const auto end = text.find("\n# ", at + 1);
    const std::string section = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    CHECK(section.find("common/exit-status.md") != std::string::npos);
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
