#include "sim/nvgpu_sim.h"

#include <algorithm>
#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/hex.h"
#include "base/text.h"
#include "crypto/digest.h"
#include "crypto/keys.h"
#include "crypto/random.h"
#include "crypto/x509_issue.h"
#include "evidence/sim_layout.h"
#include "nvgpu/report.h"
#include "sim/sim_files.h"
#include "verify/nvgpu_rim.h"

namespace cci::sim {
namespace {

using Json = nlohmann::ordered_json;

constexpr unsigned kBlocks = 64;
constexpr size_t kDigest = 48;

// The simulated GPU's measurements: index i (RIM numbering; SPDM block index i + 1) is the
// SHA-384 of a label naming it and the firmware it belongs to. The VBIOS RIM claims indices
// 0-15, the driver RIM 16-31; the others are reported but claimed by neither.
bool vbios_index(unsigned i) { return i < 16; }
bool driver_index(unsigned i) { return i >= 16 && i < 32; }
Bytes measurement(unsigned i, const std::string& driver, const std::string& vbios) {
  const std::string label = "cci SIMULATED GPU measurement " + std::to_string(i) + " " + (driver_index(i) ? "driver " + driver : "VBIOS " + vbios);
  return crypto::digest(crypto::DigestAlg::kSha384, as_bytes(label));
}

Result<crypto::Certificate> issue(const std::string& cn, std::uint64_t serial, const crypto::PublicKey& subject_key, const crypto::PrivateKey& issuer_key,
                                  const crypto::Certificate* issuer, bool ca, std::vector<crypto::RawExtension> ext = {}) {
  crypto::CertificateSpec spec = detail::sim_certificate_spec({{"OU", "cci SIMULATED TEE (not NVIDIA)"}, {"O", "cci simulator"}, {"CN", cn}}, serial, ca);
  spec.key_usage = ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature";
  spec.extensions = std::move(ext);
  return crypto::issue_certificate(spec, subject_key, issuer_key, issuer, crypto::IssueSignature::kEcdsaSha384);
}

// The FWID extension of a Hopper attestation-key certificate (2.23.133.5.4.1, TCG DICE TcbInfo):
// SEQUENCE { fwids [6] { SEQUENCE { sha384 OID, OCTET STRING digest } } }; verifiers take its
// last 48 bytes.
Bytes fwid_extension(ByteView fwid) {
  static const std::uint8_t kSha384Oid[] = {0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02};
  Bytes inner(std::begin(kSha384Oid), std::end(kSha384Oid));
  inner.push_back(0x04);
  inner.push_back(static_cast<std::uint8_t>(fwid.size()));
  inner.insert(inner.end(), fwid.begin(), fwid.end());
  Bytes fw = {0x30, static_cast<std::uint8_t>(inner.size())};
  fw.insert(fw.end(), inner.begin(), inner.end());
  Bytes tagged = {0xA6, static_cast<std::uint8_t>(fw.size())};
  tagged.insert(tagged.end(), fw.begin(), fw.end());
  Bytes out = {0x30, static_cast<std::uint8_t>(tagged.size())};
  out.insert(out.end(), tagged.begin(), tagged.end());
  return out;
}

// The RIM before signing: NVIDIA's SWID layout and the signature template of its profile.
std::string rim_xml(const std::string& version, bool driver, const std::string& driver_version, const std::string& vbios_version) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<SoftwareIdentity xmlns=\"http://standards.iso.org/iso/19770/-2/2015/schema.xsd\" xmlns:SHA384=\"http://www.w3.org/2001/04/xmlenc#sha384\" "
       "corpus=\"false\" name=\"GH100\" patch=\"false\" supplemental=\"false\" tagId=\"cci-SIMULATED-" +
       std::string(driver ? "driver-" : "vbios-") + version + "\" version=\"1.0\" tagVersion=\"0\">\n";
  x += "  <Entity name=\"cci simulator (SIMULATED, not NVIDIA)\" role=\"softwareCreator tagCreator\"/>\n";
  x += "  <Meta colloquialVersion=\"" + version + "\" edition=\"" + (driver ? "GPU" : "VBIOS") + "\" product=\"GH100\" revision=\"r1\"/>\n";
  x += "  <Payload>\n";
  for (unsigned i = 0; i < kBlocks; ++i) {
    const bool active = driver ? driver_index(i) : vbios_index(i);
    const Bytes m = active ? measurement(i, driver_version, vbios_version) : Bytes(kDigest, 0);
    x += "    <Resource type=\"Measurement\" index=\"" + std::to_string(i) + "\" active=\"" + (active ? "True" : "False") +
         "\" alternatives=\"1\" SHA384:Hash0=\"" + to_hex(m) + "\" name=\"Measurement_" + std::to_string(i) + "\" size=\"48\"/>\n";
  }
  x += "  </Payload>\n";
  x += "  <Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo>"
       "<CanonicalizationMethod Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/>"
       "<SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384\"/>"
       "<Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>"
       "<Transform Algorithm=\"http://www.w3.org/2006/12/xml-c14n11\"/></Transforms>"
       "<DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#sha384\"/><DigestValue/></Reference></SignedInfo>"
       "<SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>\n";
  x += "</SoftwareIdentity>\n";
  return x;
}

void le16(Bytes& b, size_t v) {
  b.push_back(static_cast<std::uint8_t>(v));
  b.push_back(static_cast<std::uint8_t>(v >> 8));
}
// One opaque entry: type, [value type (the versioned layout),] size, value.
void opaque_field(Bytes& b, std::uint16_t type, ByteView value, std::optional<std::uint16_t> value_type = std::nullopt) {
  le16(b, type);
  if (value_type) le16(b, *value_type);
  le16(b, value.size());
  b.insert(b.end(), value.begin(), value.end());
}
Bytes le32(std::uint32_t v) { return {static_cast<std::uint8_t>(v), static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v >> 16), static_cast<std::uint8_t>(v >> 24)}; }
Bytes ascii_z(const std::string& s) {
  Bytes b(s.begin(), s.end());
  b.push_back(0);
  return b;
}

std::string nvidia_dir(const std::string& dir) { return evidence::sim_nvidia_dir(dir); }

}  // namespace

Status init_nvgpu_sim(const std::string& dir, const NvgpuPlatform& p) {
  if (!parse_dotted_version(p.driver_version, 10, 1, 4)) return make_error(ErrorCode::kUsage, "the driver version must be like 550.90.07", "driver");
  const auto vbios = fixed_dotted_hex(p.vbios_version, 5, 2);
  if (!vbios) return make_error(ErrorCode::kUsage, "the VBIOS version must be like 96.00.9f.00.01", "vbios");
  if (p.feature_flag > 2) return make_error(ErrorCode::kUsage, "the GPU mode must be 0 (SPT), 1 (MPT) or 2 (PPCIE)", "gpu-mode");
  CCI_ASSIGN(d, detail::create_platform_dir(dir, "nvidia"));
  // The device PKI: root <- identity <- provisioner <- device (BROM) <- attestation key (FMC).
  CCI_ASSIGN(root_key, crypto::generate_key(crypto::KeyType::kEcP384));
  CCI_ASSIGN(identity_key, crypto::generate_key(crypto::KeyType::kEcP384));
  CCI_ASSIGN(provisioner_key, crypto::generate_key(crypto::KeyType::kEcP384));
  CCI_ASSIGN(device_key, crypto::generate_key(crypto::KeyType::kEcP384));
  CCI_ASSIGN(ak, crypto::generate_key(crypto::KeyType::kEcP384));
  CCI_ASSIGN(fwid, crypto::random_bytes(kDigest));
  CCI_ASSIGN(root, issue("cci SIMULATED NVIDIA Device Identity CA", 1, root_key.public_key(), root_key, nullptr, true));
  CCI_ASSIGN(identity, issue("cci SIMULATED NVIDIA GH100 Identity", 2, identity_key.public_key(), root_key, &root, true));
  CCI_ASSIGN(provisioner, issue("cci SIMULATED NVIDIA GH100 Provisioner ICA", 3, provisioner_key.public_key(), identity_key, &identity, true));
  CCI_ASSIGN(device, issue("cci SIMULATED GH100 A01 GSP BROM", 4, device_key.public_key(), provisioner_key, &provisioner, true));
  CCI_ASSIGN(leaf, issue("cci SIMULATED GH100 A01 GSP FMC LF", 5, ak.public_key(), device_key, &device, false, {{"2.23.133.5.4.1", fwid_extension(fwid), false}}));
  // The RIM PKI: root <- signer.
  CCI_ASSIGN(rim_root_key, crypto::generate_key(crypto::KeyType::kEcP384));
  CCI_ASSIGN(rim_key, crypto::generate_key(crypto::KeyType::kEcP384));
  CCI_ASSIGN(rim_root, issue("cci SIMULATED NVIDIA RIM Root", 6, rim_root_key.public_key(), rim_root_key, nullptr, true));
  CCI_ASSIGN(rim_signer, issue("cci SIMULATED HCC RIM Signer", 7, rim_key.public_key(), rim_root_key, &rim_root, false));
  CCI_ASSIGN(rim_key_pem, rim_key.pem(std::nullopt));
  CCI_ASSIGN(driver_rim, verify::sign_rim_xml(as_bytes(rim_xml(p.driver_version, true, p.driver_version, *vbios)), rim_key_pem, {rim_signer.pem(), rim_root.pem()}));
  std::string vbios_upper = *vbios;
  std::transform(vbios_upper.begin(), vbios_upper.end(), vbios_upper.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  CCI_ASSIGN(vbios_rim, verify::sign_rim_xml(as_bytes(rim_xml(vbios_upper, false, p.driver_version, *vbios)), rim_key_pem, {rim_signer.pem(), rim_root.pem()}));

  CCI_TRY(detail::write_private_key(d + "/device_root.key", root_key));
  // The CAs below the root too: a test's OCSP responder answers for what each of them issued.
  CCI_TRY(detail::write_private_key(d + "/identity.key", identity_key));
  CCI_TRY(detail::write_private_key(d + "/provisioner.key", provisioner_key));
  CCI_TRY(detail::write_private_key(d + "/device.key", device_key));
  CCI_TRY(detail::write_private_key(d + "/rim_root.key", rim_root_key));
  CCI_TRY(detail::write_private_key(d + "/rim_signer.key", rim_key));
  CCI_TRY(detail::write_private_key(d + "/attestation.key", ak));
  CCI_TRY(detail::write_public(evidence::sim_nvgpu_root_file(dir), as_bytes(root.pem())));
  CCI_TRY(detail::write_public(d + "/chain.pem", as_bytes(leaf.pem() + device.pem() + provisioner.pem() + identity.pem() + root.pem())));
  CCI_TRY(detail::write_public(evidence::sim_nvgpu_rim_root_file(dir), as_bytes(rim_root.pem())));
  CCI_TRY(detail::write_public(evidence::sim_nvgpu_driver_rim_file(dir), driver_rim));
  CCI_TRY(detail::write_public(evidence::sim_nvgpu_vbios_rim_file(dir), vbios_rim));
  const Json platform{{"simulated", true}, {"driver_version", p.driver_version}, {"vbios_version", *vbios}, {"feature_flag", p.feature_flag},
                      {"fwid", to_hex(fwid)}, {"opaque_layout", p.versioned_opaque ? "nvdaod" : "legacy"}};
  return detail::write_public(d + "/platform.json", as_bytes(platform.dump(2) + "\n"));
}

Result<Bytes> nvgpu_sim_evidence(const std::string& dir, ByteView nonce, unsigned gpus, int measurement_flip) {
  if (nonce.size() != 32) return make_error(ErrorCode::kUsage, "a GPU nonce is 32 bytes", "nonce");
  if (gpus == 0 || gpus > 64) return make_error(ErrorCode::kUsage, "1 to 64 simulated GPUs", "gpus");
  const std::string d = nvidia_dir(dir);
  CCI_ASSIGN(platform_text, read_file(d + "/platform.json", 1 << 16));
  const Json platform = Json::parse(platform_text.begin(), platform_text.end(), nullptr, false);
  if (!platform.is_object() || !platform.value("simulated", false) || !platform.contains("driver_version") || !platform.contains("vbios_version") ||
      !platform.contains("fwid")) {
    return make_error(ErrorCode::kInvalidInput, d + "/platform.json is not a simulated GPU's", "sim-dir");
  }
  const std::string driver = platform["driver_version"], vbios = platform["vbios_version"];
  auto fwid = from_hex(platform["fwid"].get<std::string>(), "fwid", kDigest);
  auto vparts = parse_dotted_version(vbios, 16, 5, 5);
  if (!fwid || !vparts) return make_error(ErrorCode::kInvalidInput, d + "/platform.json: bad fwid or VBIOS version", "sim-dir");
  CCI_ASSIGN(first_ak, detail::read_private_key(d + "/attestation.key"));
  CCI_ASSIGN(first_chain, read_file(d + "/chain.pem", 1 << 16));
  auto certs = crypto::parse_pem_bundle(first_chain);
  if (!certs || certs->size() != 5) return make_error(ErrorCode::kInvalidInput, d + "/chain.pem is not a simulated GPU's five certificates", "sim-dir");
  // The certificates every GPU shares: provisioner, identity, root.
  const std::string upper = (*certs)[2].pem() + (*certs)[3].pem() + (*certs)[4].pem();
  std::optional<crypto::PrivateKey> provisioner_key;
  Json out = Json::array();
  for (unsigned g = 0; g < gpus; ++g) {
    // GPU 1 is the directory's; each further GPU is another device: its own device key and
    // certificate from the provisioner CA and its own attestation key, made now (verifiers
    // refuse one device listed twice).
    std::optional<crypto::PrivateKey> own_ak;
    Bytes chain = first_chain;
    if (g > 0) {
      if (!provisioner_key) {
        CCI_ASSIGN(k, detail::read_private_key(d + "/provisioner.key"));
        provisioner_key = std::move(k);
      }
      CCI_ASSIGN(device_key, crypto::generate_key(crypto::KeyType::kEcP384));
      CCI_ASSIGN(ak, crypto::generate_key(crypto::KeyType::kEcP384));
      const std::string n = " (GPU " + std::to_string(g + 1) + ")";
      CCI_ASSIGN(device, issue("cci SIMULATED GH100 A01 GSP BROM" + n, 0x1000 + g, device_key.public_key(), *provisioner_key, &(*certs)[2], true));
      CCI_ASSIGN(leaf, issue("cci SIMULATED GH100 A01 GSP FMC LF" + n, 0x2000 + g, ak.public_key(), device_key, &device, false,
                             {{"2.23.133.5.4.1", fwid_extension(*fwid), false}}));
      const std::string pem = leaf.pem() + device.pem() + upper;
      chain.assign(pem.begin(), pem.end());
      own_ak = std::move(ak);
    }
    const crypto::PrivateKey& signing_key = own_ak ? *own_ak : first_ak;
    // GET_MEASUREMENTS: SPDM 1.1, signature requested, all measurements, the verifier's nonce, slot 0.
    Bytes r = {nvgpu::kSpdmVersion11, nvgpu::kGetMeasurements, 0x01, 0xFF};
    r.insert(r.end(), nonce.begin(), nonce.end());
    r.push_back(0x00);
    Bytes record;
    for (unsigned i = 0; i < kBlocks; ++i) {
      Bytes m = measurement(i, driver, vbios);
      if (static_cast<int>(i) == measurement_flip) m[0] ^= 0x01;
      record.push_back(static_cast<std::uint8_t>(i + 1));
      record.push_back(0x01);  // DMTF
      le16(record, 3 + m.size());
      record.push_back(0x01);  // mutable firmware, digest
      le16(record, m.size());
      record.insert(record.end(), m.begin(), m.end());
    }
    r.insert(r.end(), {nvgpu::kSpdmVersion11, nvgpu::kMeasurements, 0x00, 0x00, static_cast<std::uint8_t>(kBlocks)});
    r.push_back(static_cast<std::uint8_t>(record.size()));
    r.push_back(static_cast<std::uint8_t>(record.size() >> 8));
    r.push_back(static_cast<std::uint8_t>(record.size() >> 16));
    r.insert(r.end(), record.begin(), record.end());
    CCI_ASSIGN(gpu_nonce, crypto::random_bytes(32));
    r.insert(r.end(), gpu_nonce.begin(), gpu_nonce.end());
    // The legacy layout, or NVIDIA Opaque Data Format 2.0: the NVDAOD header (profile 0,
    // version 2.0.0) and a value type in each entry (0x82 text, 0x85 status, 0x86 version, 0x87
    // security version; the value types a genuine 2.0 transcript carries).
    Bytes opaque;
    const bool versioned = platform.value("opaque_layout", std::string("legacy")) == "nvdaod";
    auto vt = [&](std::uint16_t t) { return versioned ? std::optional<std::uint16_t>(t) : std::nullopt; };
    if (versioned) opaque = {'N', 'V', 'D', 'A', 'O', 'D', 0, 0, 2, 0, 0, 0};
    opaque_field(opaque, nvgpu::kDriverVersion, ascii_z(driver), vt(0x86));
    const auto& v = *vparts;
    const Bytes vb = {static_cast<std::uint8_t>(v[3]), static_cast<std::uint8_t>(v[2]), static_cast<std::uint8_t>(v[1]), static_cast<std::uint8_t>(v[0]),
                      static_cast<std::uint8_t>(v[4]), 0, 0, 0};
    opaque_field(opaque, nvgpu::kVbiosVersion, vb, vt(0x86));
    opaque_field(opaque, nvgpu::kProject, ascii_z("SIM0"), vt(0x82));
    opaque_field(opaque, nvgpu::kProjectSku, ascii_z("0000"), vt(0x82));
    opaque_field(opaque, nvgpu::kChipSku, ascii_z("000"), vt(0x82));
    opaque_field(opaque, nvgpu::kNvdec0Status, Bytes{0xAA}, vt(0x82));
    opaque_field(opaque, nvgpu::kFwid, *fwid, vt(0x01));
    if (versioned) {
      opaque_field(opaque, nvgpu::kFspUcodeSvn, Bytes{0x01, 0x00}, vt(nvgpu::kValueMinSvn));
      opaque_field(opaque, nvgpu::kFeatureFlag, Bytes{static_cast<std::uint8_t>(platform.value("feature_flag", 0u)), 0}, vt(0x85));
    } else {
      opaque_field(opaque, nvgpu::kOpaqueDataVersion, le32(1));
      opaque_field(opaque, nvgpu::kFeatureFlag, le32(platform.value("feature_flag", 0u)));
    }
    le16(r, opaque.size());
    r.insert(r.end(), opaque.begin(), opaque.end());
    crypto::SignOptions so;
    so.digest = crypto::DigestAlg::kSha384;
    CCI_ASSIGN(der, crypto::sign(signing_key, r, so));
    CCI_ASSIGN(rs, crypto::ecdsa_der_to_le_rs(der, 48));
    std::reverse(rs.first.begin(), rs.first.end());
    std::reverse(rs.second.begin(), rs.second.end());
    r.insert(r.end(), rs.first.begin(), rs.first.end());
    r.insert(r.end(), rs.second.begin(), rs.second.end());
    out.push_back(Json{{"arch", "HOPPER"}, {"nonce", to_hex(nonce)}, {"evidence", base64_encode(r)}, {"certificate", base64_encode(chain)}});
  }
  const std::string text = out.dump() + "\n";
  return Bytes(text.begin(), text.end());
}

}  // namespace cci::sim
