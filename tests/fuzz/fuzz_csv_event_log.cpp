// Fuzz target: the CC event log parser (TCG2 crypto-agile) and the RTMR replay.
#include <cstdint>

#include "csv/event_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  auto events = cci::csv::parse_event_log(cci::ByteView(data, size));
  if (events) (void)cci::csv::replay_rtmrs(*events);
  return 0;
}
