#include "csv/event_log.h"

#include <algorithm>
#include <map>

#include "base/byte_reader.h"
#include "crypto/digest.h"

namespace cci::csv {
namespace {

inline constexpr std::uint32_t kEvNoAction = 3;
inline constexpr size_t kMaxEvents = 1 << 16;
inline constexpr std::uint32_t kMaxEventData = 16 << 20;


// TCG_PCR_EVENT with the Spec ID Event03: returns the digest size per algorithm and the offset
// of the first TCG_PCR_EVENT2.
Result<std::map<std::uint16_t, std::uint16_t>> spec_id(const ByteReader& r, size_t& off) {
  CCI_ASSIGN(type, r.le32(4, "event type"));
  CCI_ASSIGN(size, r.le32(8 + 20, "event size"));
  if (type != kEvNoAction) return make_error(ErrorCode::kMalformed, "event log: the first event is not the Spec ID event", "event log");
  CCI_ASSIGN(sig, r.bytes(32, 16, "spec id signature"));
  if (std::string(sig.begin(), sig.end()) != std::string("Spec ID Event03\0", 16)) {
    return make_error(ErrorCode::kMalformed, "event log: not a crypto-agile (Spec ID Event03) log", "event log");
  }
  CCI_ASSIGN(count, r.le32(32 + 24, "numberOfAlgorithms"));
  if (count == 0 || count > 16) return make_error(ErrorCode::kMalformed, "event log: numberOfAlgorithms is not 1..16", "event log");
  std::map<std::uint16_t, std::uint16_t> sizes;
  for (std::uint32_t i = 0; i < count; ++i) {
    CCI_ASSIGN(alg, r.le16(32 + 28 + 4 * i, "algorithmId"));
    CCI_ASSIGN(len, r.le16(32 + 30 + 4 * i, "digestSize"));
    if (len == 0 || len > 64) return make_error(ErrorCode::kMalformed, "event log: digest size out of range", "event log");
    sizes[alg] = len;
  }
  if (32 + size > r.size()) return make_error(ErrorCode::kMalformed, "event log: the Spec ID event runs past the end", "event log");
  off = 32 + size;
  return sizes;
}

bool is_padding(const ByteReader& r, size_t off) {
  auto idx = r.le32(off, "index");
  if (!idx) return true;  // fewer than 4 bytes left
  if (*idx == 0xFFFFFFFFu) return true;
  auto head = r.bytes(off, std::min<size_t>(12, r.size() - off), "header");
  return head && std::all_of(head->begin(), head->end(), [](std::uint8_t b) { return b == 0; });
}

}  // namespace

Result<std::vector<LogEvent>> parse_event_log(ByteView log) {
  ByteReader r(log, "CC event log");
  size_t off = 0;
  auto sizes = spec_id(r, off);
  if (!sizes) return sizes.error();
  std::vector<LogEvent> out;
  while (off < log.size() && !is_padding(r, off)) {
    if (out.size() >= kMaxEvents) return make_error(ErrorCode::kMalformed, "event log: more than 65536 events", "event log");
    LogEvent e;
    CCI_ASSIGN(index, r.le32(off, "index"));
    CCI_ASSIGN(type, r.le32(off + 4, "event type"));
    CCI_ASSIGN(count, r.le32(off + 8, "digest count"));
    e.index = index;
    e.type = type;
    if (count > sizes->size()) return make_error(ErrorCode::kMalformed, "event log: an event has more digests than the log has algorithms", "event log");
    size_t p = off + 12;
    for (std::uint32_t i = 0; i < count; ++i) {
      CCI_ASSIGN(alg, r.le16(p, "algorithmId"));
      auto it = sizes->find(alg);
      if (it == sizes->end()) return make_error(ErrorCode::kMalformed, "event log: digest of an algorithm the Spec ID event does not list", "event log");
      CCI_ASSIGN(d, r.bytes(p + 2, it->second, "digest"));
      if (alg == kTpmAlgSm3) e.sm3.assign(d.begin(), d.end());
      p += 2 + it->second;
    }
    CCI_ASSIGN(size, r.le32(p, "event size"));
    if (size > kMaxEventData) return make_error(ErrorCode::kMalformed, "event log: event data larger than 16 MiB", "event log");
    CCI_ASSIGN(data, r.bytes(p + 4, size, "event data"));
    e.data.assign(data.begin(), data.end());
    if (e.type != kEvNoAction && e.sm3.size() != 32) {
      return make_error(ErrorCode::kMalformed, "event log: event " + std::to_string(out.size()) + " has no SM3 digest", "event log");
    }
    out.push_back(std::move(e));
    off = p + 4 + size;
  }
  return out;
}

Result<Rtmrs> replay_rtmrs(const std::vector<LogEvent>& events) {
  Rtmrs m{};
  for (const auto& e : events) {
    if (e.type == kEvNoAction) continue;
    if (e.index >= m.size()) return make_error(ErrorCode::kMalformed, "event log: an event extends RTMR " + std::to_string(e.index), "event log");
    Bytes in(m[e.index].begin(), m[e.index].end());
    in.insert(in.end(), e.sm3.begin(), e.sm3.end());
    Bytes h = crypto::digest(crypto::DigestAlg::kSm3, in);
    std::copy(h.begin(), h.end(), m[e.index].begin());
  }
  return m;
}

}  // namespace cci::csv
