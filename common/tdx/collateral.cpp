// See collateral.h.
#include "tdx/collateral.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "base/hex.h"

namespace cci::tdx {
namespace {

using Json = nlohmann::json;

Error bad(const std::string& field, const std::string& why) { return make_error(ErrorCode::kMalformed, "TDX collateral: " + field + " " + why, field); }

// Past the JSON value starting at s[i] (an object, array, string or scalar); npos if unterminated.
size_t skip_value(std::string_view s, size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  if (s[i] == '"') {
    for (size_t j = i + 1; j < s.size(); ++j) {
      if (s[j] == '\\') ++j;
      else if (s[j] == '"') return j + 1;
    }
    return std::string_view::npos;
  }
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    for (size_t j = i; j < s.size(); ++j) {
      const char c = s[j];
      if (c == '"') {
        j = skip_value(s, j);
        if (j == std::string_view::npos) return j;
        --j;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) return j + 1;
      }
    }
    return std::string_view::npos;
  }
  size_t j = i;
  while (j < s.size() && s[j] != ',' && s[j] != '}' && s[j] != ']' && s[j] != ' ' && s[j] != '\n' && s[j] != '\r' && s[j] != '\t') ++j;
  return j;
}

size_t skip_ws(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) ++i;
  return i;
}

template <size_t N>
Result<std::array<std::uint8_t, N>> hex_array(const Json& j, const std::string& field) {
  if (!j.is_string()) return bad(field, "is not a hex string");
  auto b = from_hex(j.get<std::string>(), field, N);
  if (!b) return bad(field, "is not " + std::to_string(N) + " bytes of hex");
  std::array<std::uint8_t, N> out{};
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

const Json& member(const Json& j, const char* key, const std::string& where) {
  static const Json kNull;
  if (!j.is_object() || !j.contains(key)) return kNull;
  (void)where;
  return j[key];
}

Result<std::uint64_t> uint_member(const Json& j, const char* key, const std::string& where, std::uint64_t max) {
  const Json& v = member(j, key, where);
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max) return bad(where + "." + key, "is not an integer in 0.." + std::to_string(max));
  return v.get<std::uint64_t>();
}

Result<std::string> string_member(const Json& j, const char* key, const std::string& where) {
  const Json& v = member(j, key, where);
  if (!v.is_string()) return bad(where + "." + key, "is missing or not a string");
  return v.get<std::string>();
}

Result<TcbLevelStatus> level_status(const Json& l, const std::string& where) {
  TcbLevelStatus s;
  CCI_ASSIGN(status, string_member(l, "tcbStatus", where));
  static const char* kKnown[] = {"UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded",
                                 "OutOfDate", "OutOfDateConfigurationNeeded", "Revoked"};
  if (std::find(std::begin(kKnown), std::end(kKnown), status) == std::end(kKnown)) return bad(where + ".tcbStatus", "'" + status + "' is not a TCB status");
  s.status = status;
  CCI_ASSIGN(date, string_member(l, "tcbDate", where));
  s.date = date;
  if (l.contains("advisoryIDs")) {
    if (!l["advisoryIDs"].is_array()) return bad(where + ".advisoryIDs", "is not an array");
    for (const auto& a : l["advisoryIDs"]) {
      if (!a.is_string()) return bad(where + ".advisoryIDs", "holds a value that is not a string");
      s.advisory_ids.push_back(a.get<std::string>());
    }
  }
  return s;
}

Result<std::vector<ModuleLevel>> isvsvn_levels(const Json& levels, const std::string& where) {
  if (!levels.is_array() || levels.empty()) return bad(where, "is not a non-empty array");
  std::vector<ModuleLevel> out;
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string w = where + "[" + std::to_string(i) + "]";
    ModuleLevel m;
    CCI_ASSIGN(svn, uint_member(member(levels[i], "tcb", w), "isvsvn", w + ".tcb", 0xffff));
    m.isvsvn = static_cast<std::uint16_t>(svn);
    CCI_ASSIGN(st, level_status(levels[i], w));
    m.status = std::move(st);
    out.push_back(std::move(m));
  }
  return out;
}

Result<ModuleIdentity> module_identity(const Json& j, const std::string& where, bool with_levels) {
  ModuleIdentity m;
  if (with_levels) {
    CCI_ASSIGN(id, string_member(j, "id", where));
    m.id = id;
  }
  CCI_ASSIGN(signer, hex_array<48>(member(j, "mrsigner", where), where + ".mrsigner"));
  CCI_ASSIGN(attr, hex_array<8>(member(j, "attributes", where), where + ".attributes"));
  CCI_ASSIGN(mask, hex_array<8>(member(j, "attributesMask", where), where + ".attributesMask"));
  m.mrsigner = signer;
  m.attributes = attr;
  m.attributes_mask = mask;
  if (with_levels) {
    CCI_ASSIGN(levels, isvsvn_levels(member(j, "tcbLevels", where), where + ".tcbLevels"));
    m.levels = std::move(levels);
  }
  return m;
}

Result<std::array<std::uint8_t, 16>> components(const Json& arr, const std::string& where) {
  if (!arr.is_array() || arr.size() != 16) return bad(where, "is not 16 components");
  std::array<std::uint8_t, 16> out{};
  for (size_t i = 0; i < 16; ++i) {
    CCI_ASSIGN(svn, uint_member(arr[i], "svn", where + "[" + std::to_string(i) + "]", 0xff));
    out[i] = static_cast<std::uint8_t>(svn);
  }
  return out;
}

Result<Json> parse_json(const std::string& value, const std::string& what) {
  Json j = Json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad(what, "is not a JSON object");
  return j;
}

Result<std::time_t> pcs_time(const Json& j, const char* key, const std::string& w);

// What TCB Info and QE Identity share: id, version, issueDate, nextUpdate, the TCB evaluation
// data number.
Result<CollateralHeader> signed_header(const Json& j, const std::string& w, const std::string& want_id, unsigned want_version, const std::string& hint) {
  CCI_ASSIGN(id, string_member(j, "id", w));
  if (id != want_id) return bad(w + ".id", "'" + id + "' is not " + want_id + " (" + hint + ")");
  CCI_ASSIGN(version, uint_member(j, "version", w, 0xffff));
  if (version != want_version) return bad(w + ".version", std::to_string(version) + " is not " + std::to_string(want_version));
  CollateralHeader h;
  CCI_SET(h.issue_date, pcs_time(j, "issueDate", w));
  CCI_SET(h.next_update, pcs_time(j, "nextUpdate", w));
  CCI_ASSIGN(eval, uint_member(j, "tcbEvaluationDataNumber", w, 0xffffffff));
  h.evaluation_data_number = static_cast<unsigned>(eval);
  return h;
}

}  // namespace

Result<std::time_t> parse_pcs_time(const std::string& s, const std::string& field) {
  std::tm tm{};
  const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return bad(field, "'" + s + "' is not a UTC time (YYYY-MM-DDTHH:MM:SSZ)");
  return timegm(&tm);
}

namespace {
Result<std::time_t> pcs_time(const Json& j, const char* key, const std::string& w) {
  CCI_ASSIGN(text, string_member(j, key, w));
  return parse_pcs_time(text, w + "." + key);
}
}  // namespace

Result<SignedJson> cut_signed_json(ByteView body, const std::string& key) {
  const std::string_view s(reinterpret_cast<const char*>(body.data()), body.size());
  const Json whole = Json::parse(s.begin(), s.end(), nullptr, false);
  if (whole.is_discarded() || !whole.is_object()) return bad(key, "collateral is not a JSON object");
  SignedJson out;
  const Json& sig = member(whole, "signature", key);
  CCI_ASSIGN(sig_bytes, hex_array<64>(sig, "signature"));
  out.signature = sig_bytes;
  // Walk the top-level members to find the key's value as it was served.
  size_t i = skip_ws(s, 0);
  if (i >= s.size() || s[i] != '{') return bad(key, "collateral is not a JSON object");
  i = skip_ws(s, i + 1);
  bool found = false;
  while (i < s.size() && s[i] != '}') {
    const size_t key_end = skip_value(s, i);
    if (s[i] != '"' || key_end == std::string_view::npos) return bad(key, "collateral: a member name is not a string");
    const std::string name(s.substr(i + 1, key_end - i - 2));
    i = skip_ws(s, key_end);
    if (i >= s.size() || s[i] != ':') return bad(key, "collateral: ':' expected after a member name");
    i = skip_ws(s, i + 1);
    const size_t value_end = skip_value(s, i);
    if (value_end == std::string_view::npos) return bad(key, "collateral: a value is not terminated");
    if (name == key) {
      if (found) return bad(key, "appears twice");
      found = true;
      out.value.assign(s.substr(i, value_end - i));
    }
    i = skip_ws(s, value_end);
    if (i < s.size() && s[i] == ',') i = skip_ws(s, i + 1);
  }
  if (!found) return bad(key, "is missing");
  return out;
}

Result<TcbInfo> parse_tcb_info(const std::string& value) {
  const std::string w = "tcbInfo";
  CCI_ASSIGN(j, parse_json(value, w));
  CCI_ASSIGN(head, signed_header(j, w, "TDX", 3, "an SGX TCB Info?"));
  TcbInfo t;
  static_cast<CollateralHeader&>(t) = head;
  CCI_ASSIGN(fmspc, hex_array<6>(member(j, "fmspc", w), "tcbInfo.fmspc"));
  CCI_ASSIGN(pceid, hex_array<2>(member(j, "pceId", w), "tcbInfo.pceId"));
  t.fmspc = fmspc;
  t.pceid = pceid;
  CCI_ASSIGN(module, module_identity(member(j, "tdxModule", w), "tcbInfo.tdxModule", false));
  t.module = std::move(module);
  if (j.contains("tdxModuleIdentities")) {
    const Json& ids = j["tdxModuleIdentities"];
    if (!ids.is_array()) return bad("tcbInfo.tdxModuleIdentities", "is not an array");
    for (size_t i = 0; i < ids.size(); ++i) {
      CCI_ASSIGN(m, module_identity(ids[i], "tcbInfo.tdxModuleIdentities[" + std::to_string(i) + "]", true));
      t.module_identities.push_back(std::move(m));
    }
  }
  const Json& levels = member(j, "tcbLevels", w);
  if (!levels.is_array() || levels.empty()) return bad("tcbInfo.tcbLevels", "is not a non-empty array");
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string lw = "tcbInfo.tcbLevels[" + std::to_string(i) + "]";
    const Json& tcb = member(levels[i], "tcb", lw);
    TdxTcbLevel l;
    CCI_ASSIGN(sgx, components(member(tcb, "sgxtcbcomponents", lw), lw + ".tcb.sgxtcbcomponents"));
    CCI_ASSIGN(tdx, components(member(tcb, "tdxtcbcomponents", lw), lw + ".tcb.tdxtcbcomponents"));
    CCI_ASSIGN(pcesvn, uint_member(tcb, "pcesvn", lw + ".tcb", 0xffff));
    l.sgx_components = sgx;
    l.tdx_components = tdx;
    l.pcesvn = static_cast<std::uint16_t>(pcesvn);
    CCI_ASSIGN(st, level_status(levels[i], lw));
    l.status = std::move(st);
    t.levels.push_back(std::move(l));
  }
  return t;
}

Result<QeIdentity> parse_qe_identity(const std::string& value) {
  const std::string w = "enclaveIdentity";
  CCI_ASSIGN(j, parse_json(value, w));
  CCI_ASSIGN(head, signed_header(j, w, "TD_QE", 2, "the TDX quoting enclave's"));
  QeIdentity q;
  static_cast<CollateralHeader&>(q) = head;
  // MISCSELECT is a 32-bit value written as 8 hex digits, most significant first.
  CCI_ASSIGN(misc, hex_array<4>(member(j, "miscselect", w), "enclaveIdentity.miscselect"));
  CCI_ASSIGN(misc_mask, hex_array<4>(member(j, "miscselectMask", w), "enclaveIdentity.miscselectMask"));
  auto be32 = [](const std::array<std::uint8_t, 4>& b) {
    return static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 | static_cast<std::uint32_t>(b[2]) << 8 | b[3];
  };
  q.miscselect = be32(misc);
  q.miscselect_mask = be32(misc_mask);
  CCI_ASSIGN(attr, hex_array<16>(member(j, "attributes", w), "enclaveIdentity.attributes"));
  CCI_ASSIGN(attr_mask, hex_array<16>(member(j, "attributesMask", w), "enclaveIdentity.attributesMask"));
  CCI_ASSIGN(signer, hex_array<32>(member(j, "mrsigner", w), "enclaveIdentity.mrsigner"));
  q.attributes = attr;
  q.attributes_mask = attr_mask;
  q.mrsigner = signer;
  CCI_ASSIGN(prod, uint_member(j, "isvprodid", w, 0xffff));
  q.isvprodid = static_cast<std::uint16_t>(prod);
  CCI_ASSIGN(levels, isvsvn_levels(member(j, "tcbLevels", w), "enclaveIdentity.tcbLevels"));
  q.levels = std::move(levels);
  return q;
}

}  // namespace cci::tdx
