#include "ratls/evidence_bridge.h"

#include "crypto/x509.h"

namespace cci::ratls {
namespace {

struct TeeTag {
  const char* tee;
  std::uint64_t tag;
};
constexpr TeeTag kTable[] = {{"snp", kTagSnp}, {"csv", kTagCsv}, {"tdx", kTagIntelTeeQuote}};

std::string plain(const std::string& tee) { return tee.rfind("sim-", 0) == 0 ? tee.substr(4) : tee; }

}  // namespace

Result<std::uint64_t> tag_for_tee(const std::string& tee) {
  for (const auto& t : kTable) {
    if (plain(tee) == t.tee) return t.tag;
  }
  return make_error(ErrorCode::kUnsupported, "no attested-TLS evidence tag for TEE '" + tee + "'", "tee");
}

Result<std::string> tee_for_tag(std::uint64_t tag) {
  for (const auto& t : kTable) {
    if (tag == t.tag) return std::string(t.tee);
  }
  return make_error(ErrorCode::kUnsupported, "unknown attested-TLS evidence tag " + std::to_string(tag), "evidence");
}

Result<std::optional<Endorsements>> endorsements_of(const evidence::EvidenceFile& e) {
  Endorsements en;
  CCI_SET(en.tag, tag_for_tee(e.tee));
  if (en.tag == kTagSnp && e.vek_pem) {
    auto vek = crypto::Certificate::from_pem(as_bytes(*e.vek_pem));
    if (vek) en.items.push_back(vek->der());
    if (e.cert_chain_pem) {
      if (auto chain = crypto::parse_pem_bundle(as_bytes(*e.cert_chain_pem))) {
        for (const auto& c : *chain) en.items.push_back(c.der());
      }
    }
  }
  if (en.tag == kTagCsv && e.hrk) en.items.push_back(*e.hrk);
  if (en.items.empty()) return std::optional<Endorsements>();
  return std::optional<Endorsements>(std::move(en));
}

Result<evidence::EvidenceFile> evidence_file_of(std::uint64_t tag, ByteView report, const std::optional<Endorsements>& endorsements) {
  evidence::EvidenceFile e;
  CCI_SET(e.tee, tee_for_tag(tag));
  e.report = Bytes(report.begin(), report.end());
  if (endorsements && tag == kTagSnp) {
    std::string chain;
    for (size_t i = 0; i < endorsements->items.size(); ++i) {
      auto c = crypto::Certificate::from_der(endorsements->items[i]);
      if (!c) return make_error(ErrorCode::kMalformed, "endorsement " + std::to_string(i) + " is not a DER certificate", "endorsements");
      if (i == 0) e.vek_pem = c->pem();
      else chain += c->pem();
    }
    if (!chain.empty()) e.cert_chain_pem = chain;
  }
  if (endorsements && tag == kTagCsv && !endorsements->items.empty()) e.hrk = endorsements->items[0];
  return e;
}

}  // namespace cci::ratls
