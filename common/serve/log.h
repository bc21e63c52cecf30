// Structured logs of cci-run serve's processes: one JSON object per line on stderr, written with
// a single write(2) so lines from concurrent processes do not interleave:
//   {"ts":"2026-11-26T07:30:00.123Z","proc":"accept|conn|worker","pid":N,"event":"...", ...}
// Contract: callers pass identifiers, counts, durations, status codes and error classes only,
// never request or response text, prompts, completions or keys (tests grep every log for a
// canary that was sent as a prompt).
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

namespace cci::serve {

void log_event(std::string_view proc, std::string_view event, nlohmann::json fields = nlohmann::json::object());

}  // namespace cci::serve
