#include "verify/nvgpu_rim.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <string_view>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keys.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include "base/hex.h"
#include "base/text.h"

namespace cci::verify {
namespace {

constexpr const char* kSwidNs = "http://standards.iso.org/iso/19770/-2/2015/schema.xsd";
constexpr const char* kSha384Ns = "http://www.w3.org/2001/04/xmlenc#sha384";
constexpr const char* kDsigNs = "http://www.w3.org/2000/09/xmldsig#";

// libxmlsec1's last error on this thread (its default callback prints to stderr instead).
thread_local std::string t_xmlsec_error;
void on_xmlsec_error(const char* file, int line, const char* func, const char* object, const char* subject, int reason, const char* msg) {
  (void)file, (void)line, (void)func, (void)object;
  std::string e = xmlSecErrorsGetMsg(static_cast<xmlSecSize>(reason)) ? xmlSecErrorsGetMsg(static_cast<xmlSecSize>(reason)) : "error";
  if (subject && *subject) e += std::string(" (") + subject + ")";
  if (msg && *msg) e += std::string(": ") + msg;
  if (t_xmlsec_error.empty()) t_xmlsec_error = e;  // the first is the cause
}
void silent(void*, const char*, ...) {}

std::once_flag g_init;
bool g_init_ok = false;
void init_once() {
  std::call_once(g_init, [] {
    xmlInitParser();
    if (xmlSecInit() < 0 || xmlSecCheckVersion() != 1 || xmlSecCryptoAppInit(nullptr) < 0 || xmlSecCryptoInit() < 0) return;
    xmlSecErrorsSetCallback(on_xmlsec_error);
    g_init_ok = true;
  });
}

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct MngrFree {
  void operator()(xmlSecKeysMngr* m) const { xmlSecKeysMngrDestroy(m); }
};
struct CtxFree {
  void operator()(xmlSecDSigCtx* c) const { xmlSecDSigCtxDestroy(c); }
};

std::string attr(xmlNode* n, const char* name, const char* ns = nullptr) {
  xmlChar* v = ns ? xmlGetNsProp(n, reinterpret_cast<const xmlChar*>(name), reinterpret_cast<const xmlChar*>(ns))
                  : xmlGetNoNsProp(n, reinterpret_cast<const xmlChar*>(name));
  if (!v) return {};
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

bool is(xmlNode* n, const char* name, const char* ns) {
  return n && n->type == XML_ELEMENT_NODE && xmlStrcmp(n->name, reinterpret_cast<const xmlChar*>(name)) == 0 && n->ns &&
         xmlStrcmp(n->ns->href, reinterpret_cast<const xmlChar*>(ns)) == 0;
}
std::vector<xmlNode*> children(xmlNode* n, const char* name, const char* ns) {
  std::vector<xmlNode*> out;
  for (xmlNode* c = n ? n->children : nullptr; c; c = c->next) {
    if (is(c, name, ns)) out.push_back(c);
  }
  return out;
}
size_t count_elements(xmlNode* n, const char* name, const char* ns) {
  size_t k = 0;
  for (xmlNode* c = n; c; c = c->next) {
    if (is(c, name, ns)) ++k;
    if (c->type == XML_ELEMENT_NODE) k += count_elements(c->children, name, ns);
  }
  return k;
}

std::string text_of(xmlNode* n) {
  xmlChar* t = xmlNodeGetContent(n);
  if (!t) return {};
  std::string s(reinterpret_cast<const char*>(t));
  xmlFree(t);
  return s;
}

// The certificates of KeyInfo/X509Data (display and the anchor lookup only: xmlsec verifies).
std::vector<crypto::Certificate> keyinfo_certs(xmlNode* signature) {
  std::vector<crypto::Certificate> out;
  for (xmlNode* ki : children(signature, "KeyInfo", kDsigNs)) {
    for (xmlNode* xd : children(ki, "X509Data", kDsigNs)) {
      for (xmlNode* xc : children(xd, "X509Certificate", kDsigNs)) {
        std::string b64;
        for (char ch : text_of(xc)) {
          if (!std::isspace(static_cast<unsigned char>(ch))) b64.push_back(ch);
        }
        auto der = base64_decode(b64, "X509Certificate");
        if (!der) continue;
        auto cert = crypto::Certificate::from_der(*der);
        if (cert) out.push_back(std::move(*cert));
      }
    }
  }
  return out;
}

Result<Rim> read_swid(xmlNode* root, const std::string& what) {
  auto bad = [&](const std::string& m) { return make_error(ErrorCode::kMalformed, what + ": " + m, "rim"); };
  Rim rim;
  rim.tag_id = attr(root, "tagId");
  auto metas = children(root, "Meta", kSwidNs);
  if (metas.size() != 1) return bad("not one SWID Meta element");
  rim.colloquial_version = attr(metas[0], "colloquialVersion");
  rim.product = attr(metas[0], "product");
  if (rim.colloquial_version.empty()) return bad("Meta has no colloquialVersion");
  auto payloads = children(root, "Payload", kSwidNs);
  if (payloads.size() != 1) return bad("not one SWID Payload element");
  std::map<unsigned, bool> seen;
  const auto digits = [](const std::string& t, size_t max) {
    return !t.empty() && t.size() <= max && std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  };
  for (xmlNode* r : children(payloads[0], "Resource", kSwidNs)) {
    // NVIDIA "Opaque Data RIM Attributes" (the ns3 namespace, whose URI is the spec's address,
    // .../attestation/specs/latest/opaque-data.html): reference values compared numerically
    // with the report's opaque data, such as a minimum security version (minSvn). cci does not
    // evaluate them yet, so a RIM that sets one is refused rather than its floor ignored.
    for (xmlAttr* a = r->properties; a != nullptr; a = a->next) {
      if (a->ns == nullptr || a->ns->href == nullptr) continue;
      const std::string_view ns(reinterpret_cast<const char*>(a->ns->href));
      if (ns.find("/attestation/specs/") != std::string_view::npos && ns.find("opaque-data") != std::string_view::npos) {
        const std::string name = attr(r, "name");
        return bad("Resource " + (name.empty() ? std::string("(unnamed)") : name) + " sets the opaque-data reference value " +
                   reinterpret_cast<const char*>(a->name) + " (NVIDIA Opaque Data RIM Attributes, " + std::string(ns) +
                   "), which cci does not evaluate: the RIM is refused rather than that requirement ignored");
      }
    }
    if (attr(r, "type") != "Measurement") continue;
    RimMeasurement m;
    const std::string idx = attr(r, "index"), alts = attr(r, "alternatives"), active = attr(r, "active");
    if (!digits(idx, 3)) return bad("a Measurement without a numeric index");
    m.index = static_cast<unsigned>(std::stoul(idx));
    if (m.index >= 256 || seen.count(m.index)) return bad("Measurement index " + idx + " repeated or out of range");
    seen[m.index] = true;
    if (active != "True" && active != "False") return bad("Measurement " + idx + ": active is '" + active + "', not True or False");
    m.active = active == "True";
    if (!digits(alts, 2) || std::stoul(alts) == 0) {
      return bad("Measurement " + idx + ": alternatives is not a small positive number");
    }
    for (unsigned k = 0; k < std::stoul(alts); ++k) {
      const std::string name = "Hash" + std::to_string(k);
      const std::string h = attr(r, name.c_str(), kSha384Ns);
      auto b = from_hex(h, what + " Measurement " + idx + " " + name, 48);
      if (!b) return bad("Measurement " + idx + ": " + name + " is not 48 bytes of hex");
      m.alternatives.push_back(std::move(*b));
    }
    rim.measurements.push_back(std::move(m));
  }
  if (rim.measurements.empty()) return bad("no Measurement resources in Payload");
  return rim;
}

}  // namespace

Bytes pinned_nvidia_rim_root_fingerprint() {
  return *from_hex("12977b5115acb0381179279fffeb5a8c4d264971ebb32298023a465fa41df5d1", "NVIDIA RIM root fingerprint", 32);
}

RimVerification verify_rim(ByteView xml, std::time_t at, const std::string& what, const crypto::Certificate* root) {
  RimVerification v;
  CheckList& c = v.checks;
  init_once();
  if (!g_init_ok) {
    c.add("nvgpu.rim_signature", false, "libxmlsec1 (OpenSSL) did not initialise");
    return v;
  }
  if (xml.size() > kMaxRimSize) {
    c.add("nvgpu.rim_signature", false, what + ": " + std::to_string(xml.size()) + " bytes, more than any RIM");
    return v;
  }
  xmlSetGenericErrorFunc(nullptr, silent);
  // No network, no entity substitution, no DTD: a RIM is plain XML.
  std::unique_ptr<xmlDoc, DocFree> doc(xmlReadMemory(reinterpret_cast<const char*>(xml.data()), static_cast<int>(xml.size()), "rim.xml", nullptr,
                                                     XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) {
    const xmlError* e = xmlGetLastError();
    c.add("nvgpu.rim_signature", false, what + " is not well-formed XML" + (e && e->message ? std::string(": ") + e->message : std::string()));
    return v;
  }
  if (doc->intSubset || doc->extSubset) {
    c.add("nvgpu.rim_signature", false, what + " carries a DOCTYPE: refused");
    return v;
  }
  xmlNode* top = xmlDocGetRootElement(doc.get());
  if (!is(top, "SoftwareIdentity", kSwidNs)) {
    c.add("nvgpu.rim_signature", false, what + " is not a SWID tag (SoftwareIdentity)");
    return v;
  }
  // One enveloped signature, a child of the root, and no other Signature anywhere.
  auto sigs = children(top, "Signature", kDsigNs);
  if (sigs.size() != 1 || count_elements(top, "Signature", kDsigNs) != 1) {
    c.add("nvgpu.rim_signature", false, what + " does not carry exactly one enveloped ds:Signature under SoftwareIdentity");
    return v;
  }
  xmlNode* sig = sigs[0];
  // The content first, unauthenticated: a caller picks the RIM for a report's version by it (a
  // lookup key, like a quote's FMSPC); it counts only if the checks below pass.
  auto content = read_swid(top, what);
  if (!content) {
    c.add("nvgpu.rim_content", false, content.error().message);
    return v;
  }
  v.rim = std::move(*content);
  auto certs = keyinfo_certs(sig);
  // The anchor: the pinned root among KeyInfo's certificates (or the test's root).
  std::string anchor_pem;
  if (root) {
    anchor_pem = root->pem();
  } else {
    for (const auto& cert : certs) {
      if (cert.fingerprint_sha256() == pinned_nvidia_rim_root_fingerprint()) anchor_pem = cert.pem();
    }
    if (anchor_pem.empty()) {
      c.add("nvgpu.rim_chain", false, what + ": its signer's chain does not reach the pinned NVIDIA RIM root (not among KeyInfo's certificates)");
      return v;
    }
  }
  // The signer's chain, by this library's X.509 code first (libxmlsec1 checks it again below):
  // the KeyInfo certificate that issued no other, through the others, to the anchor at `at`.
  std::string signer;
  {
    std::vector<const crypto::Certificate*> leaves;
    for (const auto& cert : certs) {
      bool issues = false;
      for (const auto& other : certs) issues = issues || (&other != &cert && other.names_issuer(cert) && !other.names_issuer(other));
      if (!issues && !cert.names_issuer(cert)) leaves.push_back(&cert);
    }
    if (leaves.size() != 1) {
      c.add("nvgpu.rim_chain", false, what + ": KeyInfo does not name one signing certificate (" + std::to_string(leaves.size()) + " candidates)");
      return v;
    }
    std::vector<crypto::Certificate> middle;
    for (const auto& cert : certs) {
      if (&cert != leaves[0] && !cert.names_issuer(cert)) middle.push_back(cert.clone());
    }
    auto anchor = crypto::Certificate::from_pem(as_bytes(anchor_pem));
    if (!anchor) {
      c.add("nvgpu.rim_chain", false, what + ": the RIM root does not parse");
      return v;
    }
    const crypto::Certificate anchors[] = {anchor->clone()};
    if (auto st = crypto::verify_chain(*leaves[0], middle, anchors, at); !st) {
      c.add("nvgpu.rim_chain", false, what + "'s signer " + leaves[0]->subject_common_name() + ": " + st.error().message);
      return v;
    }
    // The chain as checked, signer first, for the revocation check (OCSP asks about a certificate and its issuer).
    v.chain.push_back(leaves[0]->clone());
    for (size_t hops = 0; hops < middle.size() && !v.chain.back().names_issuer(*anchor); ++hops) {
      for (const auto& m : middle) {
        if (v.chain.back().names_issuer(m) && v.chain.back().signed_by(m)) {
          v.chain.push_back(m.clone());
          break;
        }
      }
    }
    v.chain.push_back(anchor->clone());
    signer = leaves[0]->subject_common_name() + " (valid " + rfc3339_utc(leaves[0]->not_before()) + " to " + rfc3339_utc(leaves[0]->not_after()) + ")";
    c.add("nvgpu.rim_chain", true, what + " signed by " + signer + ", chained to the RIM root at " + rfc3339_utc(at));
  }
  std::unique_ptr<xmlSecKeysMngr, MngrFree> mngr(xmlSecKeysMngrCreate());
  if (!mngr || xmlSecCryptoAppDefaultKeysMngrInit(mngr.get()) < 0 ||
      xmlSecCryptoAppKeysMngrCertLoadMemory(mngr.get(), reinterpret_cast<const xmlSecByte*>(anchor_pem.data()), static_cast<xmlSecSize>(anchor_pem.size()),
                                            xmlSecKeyDataFormatPem, xmlSecKeyDataTypeTrusted) < 0) {
    c.add("nvgpu.rim_signature", false, what + ": cannot load the RIM root into libxmlsec1");
    return v;
  }
  std::unique_ptr<xmlSecDSigCtx, CtxFree> ctx(xmlSecDSigCtxCreate(mngr.get()));
  if (!ctx) {
    c.add("nvgpu.rim_signature", false, what + ": cannot create a signature context");
    return v;
  }
  // Exactly NVIDIA's profile: the key from an X.509 certificate verified at `at` (never a bare
  // KeyValue), URI="" only, the enveloped and C14N 1.1 transforms, SHA-384, ECDSA-SHA384.
  ctx->keyInfoReadCtx.certsVerificationTime = at;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty;
  bool setup = xmlSecPtrListAdd(&ctx->keyInfoReadCtx.enabledKeyData, const_cast<void*>(static_cast<const void*>(xmlSecKeyDataX509Id))) >= 0;
  for (xmlSecTransformId t : {xmlSecTransformInclC14N11Id, xmlSecTransformEcdsaSha384Id}) setup = setup && xmlSecDSigCtxEnableSignatureTransform(ctx.get(), t) >= 0;
  for (xmlSecTransformId t : {xmlSecTransformEnvelopedId, xmlSecTransformInclC14N11Id, xmlSecTransformSha384Id}) {
    setup = setup && xmlSecDSigCtxEnableReferenceTransform(ctx.get(), t) >= 0;
  }
  if (!setup) {
    c.add("nvgpu.rim_signature", false, what + ": cannot restrict libxmlsec1 to the RIM profile");
    return v;
  }
  t_xmlsec_error.clear();
  const int rc = xmlSecDSigCtxVerify(ctx.get(), sig);
  const bool ok = rc >= 0 && ctx->status == xmlSecDSigStatusSucceeded && xmlSecPtrListGetSize(&ctx->signedInfoReferences) == 1;
  if (!ok) {
    c.add("nvgpu.rim_signature", false,
          what + "'s XML signature does not verify at " + rfc3339_utc(at) + (t_xmlsec_error.empty() ? std::string() : " (libxmlsec1: " + t_xmlsec_error + ")"));
    return v;
  }
  c.add("nvgpu.rim_signature", true, what + ": the XML signature over the whole document verifies (libxmlsec1: C14N 1.1, ECDSA-SHA384, X.509 chain at " + rfc3339_utc(at) + ")");
  v.rim->signer = signer;
  c.add("nvgpu.rim_content", true, what + " " + v.rim->colloquial_version + " for " + v.rim->product + ", " + std::to_string(v.rim->measurements.size()) + " measurements");
  v.passed = c.all_passed();
  return v;
}

bool rim_version_matches(const std::string& rim_version, const std::string& report_version) {
  return !report_version.empty() && ascii_lower(rim_version) == ascii_lower(report_version);
}

namespace {

// The opaque fields a RIM id is made of that the report lacks ("DRIVER_VERSION", ...), joined.
std::string missing_rim_id_fields(const nvgpu::Report& report, bool driver) {
  std::string missing;
  auto need = [&](const std::string& value, const char* field) {
    if (value.empty()) missing += std::string(missing.empty() ? "" : ", ") + field;
  };
  if (driver) {
    need(report.driver_version, "DRIVER_VERSION");
  } else {
    need(report.vbios_version, "VBIOS_VERSION");
    need(report.project, "PROJECT");
    need(report.project_sku, "PROJECT_SKU");
    need(report.chip_sku, "CHIP_SKU");
  }
  return missing;
}

}  // namespace

std::string rim_id(const nvgpu::Report& report, bool driver) {
  auto upper = [](std::string t) {
    for (char& ch : t) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    return t;
  };
  if (!missing_rim_id_fields(report, driver).empty()) return "";
  if (driver) {
    return report.chip_info.empty() ? "NV_GPU_DRIVER_GH100_" + report.driver_version : "NV_GPU_CC_DRIVER_" + upper(report.chip_info) + "_" + report.driver_version;
  }
  std::string vbios;
  for (char ch : report.vbios_version) {
    if (ch != '.') vbios.push_back(ch);
  }
  return "NV_GPU_VBIOS_" + report.project + "_" + report.project_sku + "_" + report.chip_sku + "_" + upper(vbios);
}

std::string no_rim_id_reason(const nvgpu::Report& report, bool driver) {
  std::string why = "the report's OpaqueData has no " + missing_rim_id_fields(report, driver) + " (" + std::to_string(report.opaque.size()) + " opaque fields), so no " +
                    (driver ? "driver" : "VBIOS") + " RIM can be chosen for it";
  if (report.opaque.empty()) {
    why += "; reports with empty OpaqueData (Blackwell's FSP) are appraised against CoRIM reference values, which cci does not read yet";
  }
  return why;
}

void compare_measurements(const nvgpu::Report& report, const Rim* driver, const Rim* vbios, CheckList& c) {
  struct Source {
    const Rim* rim;
    const char* kind;   // in check ids
    const char* shown;  // in details
    const std::string& have;
  };
  const Source sources[] = {{driver, "driver", "driver", report.driver_version}, {vbios, "vbios", "VBIOS", report.vbios_version}};
  for (const auto& s : sources) {
    if (!s.rim) continue;
    const bool same = rim_version_matches(s.rim->colloquial_version, s.have);
    c.add(std::string("nvgpu.") + s.kind + "_rim_version", same,
          same ? std::string("the ") + s.shown + " RIM is for the report's " + s.shown + " " + s.have
               : std::string("the ") + s.shown + " RIM is for " + s.rim->colloquial_version + ", the report's " + s.shown + " is " + (s.have.empty() ? "not given" : s.have));
  }
  // Which RIM claims each index.
  std::map<unsigned, std::pair<const RimMeasurement*, const char*>> golden;
  std::vector<std::string> conflicts;
  for (const auto& s : sources) {
    if (!s.rim) continue;
    for (const auto& m : s.rim->measurements) {
      if (!m.active) continue;
      if (golden.count(m.index)) conflicts.push_back(std::to_string(m.index));
      golden[m.index] = {&m, s.shown};
    }
  }
  if (driver && vbios) {
    std::string list;
    for (const auto& i : conflicts) list += (list.empty() ? "" : ", ") + i;
    c.add("nvgpu.rim_index_conflict", conflicts.empty(),
          conflicts.empty() ? "the driver and VBIOS RIMs claim different indices" : "index " + list + " is active in both the driver and the VBIOS RIM");
  }
  if (golden.empty()) return;
  // NVDEC0 disabled (0x55): its measurement (index 35) is not taken; enabled (0xAA) or absent: compared.
  bool skip35 = false;
  if (report.nvdec0_status) {
    if (*report.nvdec0_status == 0x55) {
      skip35 = true;
    } else if (*report.nvdec0_status != 0xAA) {
      c.add("nvgpu.measurements", false, "NVDEC0_STATUS is " + to_hex(ByteView(&*report.nvdec0_status, 1)) + ", neither 0xaa (enabled) nor 0x55 (disabled)");
      return;
    }
  }
  std::map<unsigned, const nvgpu::MeasurementBlock*> by_index;
  for (const auto& b : report.blocks) by_index[b.index] = &b;
  std::string mismatched;
  size_t compared = 0;
  for (const auto& [index, g] : golden) {
    if (index == 35 && skip35) continue;
    auto it = by_index.find(index + 1);  // SPDM block Index is 1-based, the RIM's 0-based
    const bool match = it != by_index.end() &&
                       std::any_of(g.first->alternatives.begin(), g.first->alternatives.end(), [&](const Bytes& alt) { return alt == it->second->value; });
    if (!match) mismatched += (mismatched.empty() ? "" : ", ") + std::to_string(index) + " (" + g.second + " RIM)";
    ++compared;
  }
  c.add("nvgpu.measurements", mismatched.empty(),
        mismatched.empty() ? std::to_string(compared) + " active measurements equal the RIMs'" + (skip35 ? " (index 35 not taken: NVDEC0 disabled)" : "")
                           : "measurement index " + mismatched + " differ from the RIM's");
}

Result<Bytes> sign_rim_xml(ByteView unsigned_xml, const std::string& key_pem, const std::vector<std::string>& certs_pem) {
  init_once();
  if (!g_init_ok) return make_error(ErrorCode::kInternal, "libxmlsec1 (OpenSSL) did not initialise", "rim");
  std::unique_ptr<xmlDoc, DocFree> doc(xmlReadMemory(reinterpret_cast<const char*>(unsigned_xml.data()), static_cast<int>(unsigned_xml.size()), "rim.xml",
                                                     nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) return make_error(ErrorCode::kInternal, "the RIM to sign is not well-formed XML", "rim");
  auto sigs = children(xmlDocGetRootElement(doc.get()), "Signature", kDsigNs);
  if (sigs.size() != 1) return make_error(ErrorCode::kInternal, "the RIM to sign has not one Signature template", "rim");
  std::unique_ptr<xmlSecDSigCtx, CtxFree> ctx(xmlSecDSigCtxCreate(nullptr));
  if (!ctx) return make_error(ErrorCode::kInternal, "cannot create a signature context", "rim");
  ctx->signKey = xmlSecCryptoAppKeyLoadMemory(reinterpret_cast<const xmlSecByte*>(key_pem.data()), static_cast<xmlSecSize>(key_pem.size()),
                                              xmlSecKeyDataFormatPem, nullptr, nullptr, nullptr);
  if (!ctx->signKey) return make_error(ErrorCode::kInternal, "libxmlsec1 cannot load the RIM signing key", "rim");
  for (const auto& pem : certs_pem) {
    if (xmlSecCryptoAppKeyCertLoadMemory(ctx->signKey, reinterpret_cast<const xmlSecByte*>(pem.data()), static_cast<xmlSecSize>(pem.size()),
                                         xmlSecKeyDataFormatPem) < 0) {
      return make_error(ErrorCode::kInternal, "libxmlsec1 cannot load a RIM signer certificate", "rim");
    }
  }
  t_xmlsec_error.clear();
  if (xmlSecDSigCtxSign(ctx.get(), sigs[0]) < 0) return make_error(ErrorCode::kInternal, "libxmlsec1 cannot sign the RIM: " + t_xmlsec_error, "rim");
  xmlChar* out = nullptr;
  int size = 0;
  xmlDocDumpMemory(doc.get(), &out, &size);
  if (!out) return make_error(ErrorCode::kInternal, "cannot write the signed RIM", "rim");
  Bytes signed_xml(out, out + size);
  xmlFree(out);
  return signed_xml;
}

}  // namespace cci::verify
