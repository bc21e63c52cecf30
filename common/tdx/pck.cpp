// See pck.h. DER per ITU-T X.690: definite lengths in their shortest form, INTEGERs minimal.
#include "tdx/pck.h"

#include "base/der.h"

#include <algorithm>
#include <optional>
#include <string>

namespace cci::tdx {
namespace {

using der::kInteger, der::kOctetString, der::kOid, der::kEnumerated, der::kSequence, der::Tlv;
// 1.2.840.113741.1.13.1 in DER content bytes.
constexpr std::array<std::uint8_t, 9> kSgxOid = {0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 0x01, 0x0d, 0x01};

const der::Reader& reader() {
  static const der::Reader r("PCK certificate SGX extension", "pck_extensions");
  return r;
}
Error bad(const std::string& what, const std::string& why) { return reader().bad(what, why); }
Result<Tlv> next(ByteView& in, const std::string& what) { return reader().next(in, what); }
Result<Tlv> expect(ByteView& in, std::uint8_t tag, const std::string& what) { return reader().expect(in, tag, what); }

// A non-negative DER INTEGER (or ENUMERATED) no larger than `max`.
Result<unsigned> small_uint(const Tlv& t, unsigned max, const std::string& what) {
  const ByteView v = t.value;
  if (v.empty() || v.size() > 3) return bad(what, "is not an integer up to " + std::to_string(max));
  if (v[0] & 0x80) return bad(what, "is negative");
  if (v.size() > 1 && v[0] == 0 && !(v[1] & 0x80)) return bad(what, "is not minimal DER");
  unsigned x = 0;
  for (std::uint8_t b : v) x = x << 8 | b;
  if (x > max) return bad(what, std::to_string(x) + " is more than " + std::to_string(max));
  return x;
}

template <size_t N>
Status octets(const Tlv& t, std::array<std::uint8_t, N>& out, const std::string& what) {
  if (t.tag != kOctetString || t.value.size() != N) return bad(what, "is not an OCTET STRING of " + std::to_string(N) + " bytes");
  std::copy(t.value.begin(), t.value.end(), out.begin());
  return {};
}

// The arc after the SGX prefix: ".1" -> {1}, ".2.17" -> {2, 17}; nullopt for another OID.
std::optional<std::pair<unsigned, unsigned>> sgx_arc(ByteView oid) {
  if (oid.size() < kSgxOid.size() + 1 || !std::equal(kSgxOid.begin(), kSgxOid.end(), oid.begin())) return std::nullopt;
  const ByteView rest = oid.subspan(kSgxOid.size());
  if (rest.size() == 1 && rest[0] < 0x80) return std::make_pair(unsigned{rest[0]}, 0u);
  if (rest.size() == 2 && rest[0] < 0x80 && rest[1] < 0x80) return std::make_pair(unsigned{rest[0]}, unsigned{rest[1]});
  return std::nullopt;
}

Status parse_tcb(ByteView seq, PckExtensions& out) {
  bool seen[19] = {};
  while (!seq.empty()) {
    CCI_ASSIGN(pair, expect(seq, kSequence, "TCB entry"));
    ByteView p = pair.value;
    CCI_ASSIGN(oid, expect(p, kOid, "TCB entry OID"));
    CCI_ASSIGN(value, next(p, "TCB entry value"));
    if (!p.empty()) return bad("TCB entry", "has bytes after its value");
    const auto arc = sgx_arc(oid.value);
    if (!arc || arc->first != 2 || arc->second < 1 || arc->second > 18) continue;  // not ours: skipped, as Intel's profile allows
    const unsigned i = arc->second;
    if (seen[i]) return bad("TCB component " + std::to_string(i), "appears twice");
    seen[i] = true;
    const std::string what = i == 17 ? "PCESVN" : i == 18 ? "CPUSVN" : "TCB component " + std::to_string(i);
    if (i == 18) {
      CCI_TRY(octets(value, out.cpusvn, what));
    } else {
      if (value.tag != kInteger) return bad(what, "is not an INTEGER");
      CCI_ASSIGN(v, small_uint(value, i == 17 ? 0xffff : 0xff, what));
      if (i == 17) out.pcesvn = static_cast<std::uint16_t>(v);
      else out.tcb_components[i - 1] = static_cast<std::uint8_t>(v);
    }
  }
  for (unsigned i = 1; i <= 18; ++i) {
    if (!seen[i]) return bad(i == 17 ? "PCESVN" : i == 18 ? "CPUSVN" : "TCB component " + std::to_string(i), "is missing");
  }
  return {};
}

}  // namespace

Result<PckExtensions> parse_pck_extensions(ByteView extn_value) {
  ByteView in = extn_value;
  CCI_ASSIGN(outer, expect(in, kSequence, "the extension"));
  if (!in.empty()) return bad("the extension", "has bytes after its SEQUENCE");
  PckExtensions out;
  bool ppid = false, tcb = false, pceid = false, fmspc = false, type = false;
  ByteView items = outer.value;
  while (!items.empty()) {
    CCI_ASSIGN(pair, expect(items, kSequence, "entry"));
    ByteView p = pair.value;
    CCI_ASSIGN(oid, expect(p, kOid, "entry OID"));
    CCI_ASSIGN(value, next(p, "entry value"));
    if (!p.empty()) return bad("entry", "has bytes after its value");
    const auto arc = sgx_arc(oid.value);
    if (!arc || arc->second != 0) continue;
    auto once = [&](bool& seen, const char* what) -> Status {
      if (seen) return bad(what, "appears twice");
      seen = true;
      return {};
    };
    switch (arc->first) {
      case 1:
        CCI_TRY(once(ppid, "PPID"));
        CCI_TRY(octets(value, out.ppid, "PPID"));
        break;
      case 2:
        CCI_TRY(once(tcb, "TCB"));
        if (value.tag != kSequence) return bad("TCB", "is not a SEQUENCE");
        CCI_TRY(parse_tcb(value.value, out));
        break;
      case 3:
        CCI_TRY(once(pceid, "PCE-ID"));
        CCI_TRY(octets(value, out.pceid, "PCE-ID"));
        break;
      case 4:
        CCI_TRY(once(fmspc, "FMSPC"));
        CCI_TRY(octets(value, out.fmspc, "FMSPC"));
        break;
      case 5: {
        CCI_TRY(once(type, "SGX type"));
        if (value.tag != kEnumerated) return bad("SGX type", "is not ENUMERATED");
        CCI_ASSIGN(v, small_uint(value, 2, "SGX type"));
        out.sgx_type = v;
        break;
      }
      default:
        break;  // platform instance ID, configuration: not used
    }
  }
  if (!ppid) return bad("PPID", "is missing");
  if (!tcb) return bad("TCB", "is missing");
  if (!pceid) return bad("PCE-ID", "is missing");
  if (!fmspc) return bad("FMSPC", "is missing");
  if (!type) return bad("SGX type", "is missing");
  return out;
}

}  // namespace cci::tdx
