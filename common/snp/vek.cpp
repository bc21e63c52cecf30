#include "snp/vek.h"

namespace cci::snp {
namespace {

Error bad(const std::string& what, const std::string& oid) {
  return make_error(ErrorCode::kMalformed, "VEK certificate extension " + what + " (" + oid + ") is malformed", oid);
}

// DER INTEGER, minimal encoding, 0..255.
Result<std::uint8_t> der_small_uint(ByteView v, const std::string& what, const std::string& oid) {
  if (v.size() < 3 || v[0] != 0x02 || v[1] != v.size() - 2 || v[1] > 2) return bad(what, oid);
  if (v[1] == 1) {
    if (v[2] & 0x80) return bad(what + " (negative)", oid);
    return v[2];
  }
  // Two content bytes: only a 0x00 sign byte before a value >= 0x80 is minimal.
  if (v[2] != 0x00 || (v[3] & 0x80) == 0) return bad(what + " (not minimal or out of range)", oid);
  return v[3];
}

Result<std::string> der_ia5(ByteView v, const std::string& what, const std::string& oid) {
  if (v.size() < 2 || v[0] != 0x16 || v[1] >= 0x80 || v[1] != v.size() - 2) return bad(what, oid);
  std::string s;
  for (size_t i = 2; i < v.size(); ++i) {
    if (v[i] >= 0x80) return bad(what + " (not ASCII)", oid);
    s.push_back(static_cast<char>(v[i]));
  }
  return s;
}

}  // namespace

Result<VekExtensions> parse_vek_extensions(const ExtensionLookup& ext) {
  VekExtensions out;
  auto get = [&](const char* oid) { return ext(oid); };
  auto integer = [&](const char* oid, const char* what, std::optional<std::uint8_t>& slot) -> Status {
    auto v = get(oid);
    if (!v) return v.error();
    if (!*v) return {};
    auto n = der_small_uint(**v, what, oid);
    if (!n) return n.error();
    slot = *n;
    return {};
  };
  CCI_TRY(integer(kOidStructVersion, "structVersion", out.struct_version));
  CCI_TRY(integer(kOidBlSpl, "blSPL", out.bl));
  CCI_TRY(integer(kOidTeeSpl, "teeSPL", out.tee));
  CCI_TRY(integer(kOidSnpSpl, "snpSPL", out.snp));
  CCI_TRY(integer(kOidUcodeSpl, "ucodeSPL", out.ucode));
  CCI_TRY(integer(kOidFmcSpl, "fmcSPL", out.fmc));
  auto name = get(kOidProductName);
  if (!name) return name.error();
  if (*name) {
    auto s = der_ia5(**name, "productName", kOidProductName);
    if (!s) return s.error();
    out.product_name = *s;
  }
  auto csp = get(kOidCspId);
  if (!csp) return csp.error();
  if (*csp) {
    auto s = der_ia5(**csp, "cspID", kOidCspId);
    if (!s) return s.error();
    out.csp_id = *s;
  }
  auto hw = get(kOidHwId);
  if (!hw) return hw.error();
  if (*hw) {
    const Bytes& v = **hw;
    // KDS stores the bytes raw; some issuers wrap them in an OCTET STRING (04 len ...).
    if ((v.size() == 66 && v[0] == 0x04 && v[1] == 0x40) || (v.size() == 10 && v[0] == 0x04 && v[1] == 0x08)) {
      out.hw_id = Bytes(v.begin() + 2, v.end());
    } else if (v.size() == 64 || v.size() == 8) {
      out.hw_id = v;
    } else {
      return bad("hwID (" + std::to_string(v.size()) + " bytes)", kOidHwId);
    }
  }
  return out;
}

}  // namespace cci::snp
