#include "ratls/fresh.h"

#include "crypto/digest.h"
#include "crypto/random.h"

namespace cci::ratls {

Claims fresh_claims(const Claims& certificate_claims, ByteView nonce, ByteView exporter) {
  Claims c = certificate_claims;
  c.nonce = Bytes(nonce.begin(), nonce.end());
  c.exporter = Bytes(exporter.begin(), exporter.end());
  return c;
}

Status check_fresh_claims(const Claims& fresh, const Claims& cert, ByteView nonce, ByteView exporter) {
  auto fail = [](const std::string& field, const std::string& what) { return make_error(ErrorCode::kVerificationFailed, "the fresh evidence " + what, field); };
  if (!crypto::ct_equal(fresh.pubkey_sha256, cert.pubkey_sha256)) return fail("pubkey-hash", "binds another key than the server's certificate");
  if (!fresh.nonce || !crypto::ct_equal(*fresh.nonce, nonce)) return fail("nonce", "answers another nonce than ours (a replayed answer)");
  if (!fresh.exporter || !crypto::ct_equal(*fresh.exporter, exporter)) return fail("cci-exporter", "is bound to another TLS connection (a replayed or relayed answer)");
  if (fresh.purpose != cert.purpose) return fail("cci-purpose", "names purpose '" + fresh.purpose + "', the certificate '" + cert.purpose + "'");
  if (!crypto::ct_equal(fresh.manifest_sha256, cert.manifest_sha256)) return fail("cci-manifest", "names another manifest than the certificate");
  if (fresh.deploy != cert.deploy) return fail("cci-deploy", "names another deployment than the certificate");
  if (fresh.key_source != cert.key_source) return fail("cci-key-source", "names another model key source than the certificate");
  return {};
}

Bytes gpu_nonce(ByteView nonce, ByteView exporter) {
  Bytes m(kGpuNonceLabel, kGpuNonceLabel + sizeof kGpuNonceLabel - 1);
  m.insert(m.end(), nonce.begin(), nonce.end());
  m.insert(m.end(), exporter.begin(), exporter.end());
  return crypto::digest(crypto::DigestAlg::kSha256, m);
}

Bytes attest_gpu_nonce(ByteView nonce) {
  Bytes m(kAttestGpuNonceLabel, kAttestGpuNonceLabel + sizeof kAttestGpuNonceLabel - 1);
  m.insert(m.end(), nonce.begin(), nonce.end());
  return crypto::digest(crypto::DigestAlg::kSha256, m);
}

Bytes attest_report_data(ByteView nonce, ByteView gpu_evidence) {
  Bytes m(kAttestGpuReportDataLabel, kAttestGpuReportDataLabel + sizeof kAttestGpuReportDataLabel - 1);
  m.push_back(static_cast<std::uint8_t>(nonce.size()));
  m.insert(m.end(), nonce.begin(), nonce.end());
  const Bytes g = crypto::digest(crypto::DigestAlg::kSha256, gpu_evidence);
  m.insert(m.end(), g.begin(), g.end());
  return crypto::digest(crypto::DigestAlg::kSha512, m);
}

Status check_gpu_binding(const Claims& fresh, ByteView gpu_evidence) {
  if (!fresh.gpu_sha256) {
    return make_error(ErrorCode::kVerificationFailed, "GPU evidence came with a fresh answer whose claims name none (no cci-gpu claim)", "cci-gpu");
  }
  const Bytes d = crypto::digest(crypto::DigestAlg::kSha256, gpu_evidence);
  if (!crypto::ct_equal(d, *fresh.gpu_sha256)) {
    return make_error(ErrorCode::kVerificationFailed, "the GPU evidence sent is not the one the CPU report's claims name (cci-gpu): spliced or altered", "cci-gpu");
  }
  return {};
}

}  // namespace cci::ratls
