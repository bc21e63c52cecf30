#include "csv/event_log.h"

#include "eventlog/tcg2.h"

namespace cci::csv {

// The TCG2 log itself is read by common/eventlog; a CSV3 guest's events must carry SM3.
Result<std::vector<LogEvent>> parse_event_log(ByteView log) {
  CCI_ASSIGN(events, eventlog::parse_tcg2_log(log));
  std::vector<LogEvent> out;
  out.reserve(events.size());
  for (auto& e : events) {
    LogEvent le;
    le.index = e.index;
    le.type = e.type;
    if (auto it = e.digests.find(kTpmAlgSm3); it != e.digests.end()) le.sm3 = std::move(it->second);
    if (le.type != eventlog::kEvNoAction && le.sm3.size() != 32) {
      return make_error(ErrorCode::kMalformed, "event log: event " + std::to_string(out.size()) + " has no SM3 digest", "event log");
    }
    le.data = std::move(e.data);
    out.push_back(std::move(le));
  }
  return out;
}

Result<Rtmrs> replay_rtmrs(const std::vector<LogEvent>& events) {
  std::vector<eventlog::Event> generic;
  generic.reserve(events.size());
  for (const auto& e : events) generic.push_back({e.index, e.type, {{kTpmAlgSm3, e.sm3}}, {}});
  CCI_ASSIGN(regs, eventlog::replay(generic, kTpmAlgSm3, crypto::DigestAlg::kSm3, 0, 5));
  Rtmrs m{};
  for (size_t i = 0; i < m.size(); ++i) std::copy(regs[i].begin(), regs[i].end(), m[i].begin());
  return m;
}

}  // namespace cci::csv
