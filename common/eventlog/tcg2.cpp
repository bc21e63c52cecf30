// See tcg2.h.
#include "eventlog/tcg2.h"

#include <algorithm>

#include "base/byte_reader.h"

namespace cci::eventlog {
namespace {

inline constexpr size_t kMaxEvents = 1 << 16;
inline constexpr std::uint32_t kMaxEventData = 16 << 20;

Error bad(const std::string& why) { return make_error(ErrorCode::kMalformed, "event log: " + why, "event log"); }

// TCG_PCR_EVENT with the Spec ID Event03: the digest size per algorithm, and the offset of the
// first TCG_PCR_EVENT2.
Result<std::map<std::uint16_t, std::uint16_t>> spec_id(const ByteReader& r, size_t& off) {
  CCI_ASSIGN(type, r.le32(4, "event type"));
  CCI_ASSIGN(size, r.le32(8 + 20, "event size"));
  if (type != kEvNoAction) return bad("the first event is not the Spec ID event");
  CCI_ASSIGN(sig, r.bytes(32, 16, "spec id signature"));
  if (std::string(sig.begin(), sig.end()) != std::string("Spec ID Event03\0", 16)) return bad("not a crypto-agile (Spec ID Event03) log");
  CCI_ASSIGN(count, r.le32(32 + 24, "numberOfAlgorithms"));
  if (count == 0 || count > 16) return bad("numberOfAlgorithms is not 1..16");
  std::map<std::uint16_t, std::uint16_t> sizes;
  for (std::uint32_t i = 0; i < count; ++i) {
    CCI_ASSIGN(alg, r.le16(32 + 28 + 4 * i, "algorithmId"));
    CCI_ASSIGN(len, r.le16(32 + 30 + 4 * i, "digestSize"));
    if (len == 0 || len > 64) return bad("digest size out of range");
    sizes[alg] = len;
  }
  if (32 + size > r.size()) return bad("the Spec ID event runs past the end");
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

Result<std::vector<Event>> parse_tcg2_log(ByteView log) {
  ByteReader r(log, "CC event log");
  size_t off = 0;
  CCI_ASSIGN(sizes, spec_id(r, off));
  std::vector<Event> out;
  while (off < log.size() && !is_padding(r, off)) {
    if (out.size() >= kMaxEvents) return bad("more than 65536 events");
    Event e;
    CCI_ASSIGN(index, r.le32(off, "index"));
    CCI_ASSIGN(type, r.le32(off + 4, "event type"));
    CCI_ASSIGN(count, r.le32(off + 8, "digest count"));
    e.index = index;
    e.type = type;
    if (count > sizes.size()) return bad("an event has more digests than the log has algorithms");
    size_t p = off + 12;
    for (std::uint32_t i = 0; i < count; ++i) {
      CCI_ASSIGN(alg, r.le16(p, "algorithmId"));
      auto it = sizes.find(alg);
      if (it == sizes.end()) return bad("digest of an algorithm the Spec ID event does not list");
      CCI_ASSIGN(d, r.bytes(p + 2, it->second, "digest"));
      e.digests[alg].assign(d.begin(), d.end());
      p += 2 + it->second;
    }
    CCI_ASSIGN(size, r.le32(p, "event size"));
    if (size > kMaxEventData) return bad("event data larger than 16 MiB");
    CCI_ASSIGN(data, r.bytes(p + 4, size, "event data"));
    e.data.assign(data.begin(), data.end());
    out.push_back(std::move(e));
    off = p + 4 + size;
  }
  return out;
}

Result<std::vector<Bytes>> replay(const std::vector<Event>& events, std::uint16_t alg, crypto::DigestAlg h, std::uint32_t first_index, size_t count) {
  std::vector<Bytes> regs(count, Bytes(crypto::digest_size(h), 0));
  for (size_t n = 0; n < events.size(); ++n) {
    const Event& e = events[n];
    if (e.type == kEvNoAction) continue;
    if (e.index < first_index || e.index - first_index >= count) {
      return bad("event " + std::to_string(n) + " extends register " + std::to_string(e.index) + ", outside " + std::to_string(first_index) + ".." +
                 std::to_string(first_index + count - 1));
    }
    auto d = e.digests.find(alg);
    if (d == e.digests.end() || d->second.size() != crypto::digest_size(h)) return bad("event " + std::to_string(n) + " has no " + crypto::digest_name(h) + " digest");
    Bytes& reg = regs[e.index - first_index];
    Bytes in = reg;
    in.insert(in.end(), d->second.begin(), d->second.end());
    reg = crypto::digest(h, in);
  }
  return regs;
}

}  // namespace cci::eventlog
