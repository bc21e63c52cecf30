#include "kubernetes/init_data.h"

#include <zlib.h>

#include <algorithm>

#include "base/hex.h"

namespace cci::kubernetes {
namespace {

// One line of printable ASCII that may sit between TOML quotes as it is.
Status plain_value(std::string_view v, const std::string& field, bool may_be_empty = false) {
  if (v.empty() && !may_be_empty) return make_error(ErrorCode::kInvalidInput, field + " is empty", field);
  for (const char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '"' || c == '\'' || c == '\\') {
      return make_error(ErrorCode::kInvalidInput, field + " must be printable ASCII without quotes or backslashes", field);
    }
  }
  return {};
}

// A PEM certificate as TOML multi-line text: base64 lines and the BEGIN/END lines only.
Status pem_value(std::string_view v, const std::string& field) {
  if (v.find("-----BEGIN CERTIFICATE-----") != 0) return make_error(ErrorCode::kInvalidInput, field + " is not a PEM certificate", field);
  for (const char c : v) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=' || c == '-' ||
                    c == ' ' || c == '\n';
    if (!ok) return make_error(ErrorCode::kInvalidInput, field + " holds characters a PEM certificate does not", field);
  }
  return {};
}

std::string agent_policy(const InitDataSettings& s) {
  std::string p =
      "package agent_policy\n"
      "\n"
      "import future.keywords.if\n"
      "\n"
      "# cci: the kata-agent policy of a cci-run serve pod (deployment " + s.deployment + ").\n"
      "# The host may start the sandbox and the one cci-run container from the pinned image, read its\n"
      "# output (cci logs carry no prompts, completions or keys) and stop it. It may not exec into the\n"
      "# guest, copy files in, write to a process's stdin, pause, update or trace a container, or\n"
      "# replace this policy.\n"
      "\n";
  static const char* const allowed[] = {"AddARPNeighborsRequest", "CreateSandboxRequest", "DestroySandboxRequest", "GetMetricsRequest",
                                        "GetOOMEventRequest", "GuestDetailsRequest", "ListInterfacesRequest", "ListRoutesRequest",
                                        "OnlineCPUMemRequest", "PullImageRequest", "ReadStreamRequest", "RemoveContainerRequest",
                                        "RemoveStaleVirtiofsShareMountsRequest", "SignalProcessRequest", "StartContainerRequest",
                                        "StatsContainerRequest", "UpdateInterfaceRequest", "UpdateRoutesRequest", "WaitProcessRequest"};
  static const char* const denied[] = {"AddSwapRequest", "CloseStdinRequest", "CopyFileRequest", "CreateContainerRequest", "ExecProcessRequest",
                                       "MemHotplugByProbeRequest", "PauseContainerRequest", "ReseedRandomDevRequest", "ResumeContainerRequest",
                                       "SetGuestDateTimeRequest", "SetPolicyRequest", "StartTracingRequest", "StopTracingRequest",
                                       "TtyWinResizeRequest", "UpdateContainerRequest", "UpdateEphemeralMountsRequest", "WriteStreamRequest"};
  for (const char* r : allowed) p += std::string("default ") + r + " := true\n";
  for (const char* r : denied) p += std::string("default ") + r + " := false\n";
  p +=
      "\n"
      "# The pod's sandbox (pause) container.\n"
      "CreateContainerRequest if {\n"
      "  input.OCI.Annotations[\"io.kubernetes.cri.container-type\"] == \"sandbox\"\n"
      "}\n"
      "\n"
      "# cci-run, from the image the deployment manifest pins, and nothing else.\n"
      "CreateContainerRequest if {\n"
      "  input.OCI.Annotations[\"io.kubernetes.cri.container-type\"] == \"container\"\n"
      "  input.OCI.Annotations[\"io.kubernetes.cri.image-name\"] == \"" + s.image + "\"\n"
      "}\n";
  return p;
}

}  // namespace

Result<crypto::DigestAlg> init_data_algorithm(std::string_view name) {
  if (name == "sha256") return crypto::DigestAlg::kSha256;
  if (name == "sha384") return crypto::DigestAlg::kSha384;
  if (name == "sha512") return crypto::DigestAlg::kSha512;
  return make_error(ErrorCode::kInvalidInput, "init-data algorithm must be sha256, sha384 or sha512, not '" + std::string(name) + "'", "algorithm");
}

Result<std::string> render_init_data(const InitDataSettings& s) {
  CCI_TRY(init_data_algorithm(s.algorithm));
  CCI_TRY(plain_value(s.deployment, "name"));
  CCI_TRY(plain_value(s.image, "kubernetes.image"));
  CCI_TRY(plain_value(s.key_source, "kubernetes.key_source", true));
  if (!s.model_sha256.empty()) CCI_TRY(plain_value(s.model_sha256, "model digest"));
  if (s.kbs_url) CCI_TRY(plain_value(*s.kbs_url, "kubernetes.kbs_url"));
  if (s.kbs_cert) {
    if (!s.kbs_url) return make_error(ErrorCode::kInvalidInput, "kubernetes.kbs_cert needs kubernetes.kbs_url", "kubernetes.kbs_cert");
    CCI_TRY(pem_value(*s.kbs_cert, "kubernetes.kbs_cert"));
  }
  std::string aa_cert, cdh_cert;  // the KBS certificate as TOML multi-line basic strings
  if (s.kbs_cert) {
    std::string pem = *s.kbs_cert;
    if (pem.back() != '\n') pem += '\n';
    aa_cert = "cert = \"\"\"\n" + pem + "\"\"\"\n";
    cdh_cert = "kbs_cert = \"\"\"\n" + pem + "\"\"\"\n";
  }
  std::string t = "algorithm = \"" + s.algorithm + "\"\nversion = \"" + kInitDataVersion + "\"\n\n[data]\n";
  if (s.kbs_url) {
    const std::string& url = *s.kbs_url;
    t += "\"aa.toml\" = '''\n[token_configs]\n[token_configs.coco_as]\nurl = \"" + url + "\"\n\n[token_configs.kbs]\nurl = \"" + url + "\"\n" +
         aa_cert + "'''\n\n";
    t += "\"cdh.toml\" = '''\nsocket = \"unix:///run/confidential-containers/cdh.sock\"\ncredentials = []\n\n[kbc]\nname = \"cc_kbc\"\nurl = \"" + url +
         "\"\n" + cdh_cert + "'''\n\n";
  }
  t += "\"cci.toml\" = '''\ndeployment = \"" + s.deployment + "\"\n";
  if (!s.model_sha256.empty()) t += "model_sha256 = \"" + s.model_sha256 + "\"\n";
  t += "image = \"" + s.image + "\"\nport = " + std::to_string(s.port) + "\n";
  if (!s.key_source.empty()) t += "key_source = \"" + s.key_source + "\"\n";
  t += "'''\n\n";
  t += "\"policy.rego\" = '''\n" + agent_policy(s) + "'''\n";
  return t;
}

Result<Bytes> init_data_digest(std::string_view toml, std::string_view algorithm) {
  CCI_ASSIGN(alg, init_data_algorithm(algorithm));
  return crypto::digest(alg, ByteView(reinterpret_cast<const std::uint8_t*>(toml.data()), toml.size()));
}

Bytes fit_to_field(ByteView digest, size_t len) {
  Bytes out(digest.begin(), digest.begin() + static_cast<std::ptrdiff_t>(std::min(len, digest.size())));
  out.resize(len, 0);
  return out;
}

Result<std::string> init_data_annotation(std::string_view toml) {
  z_stream z{};
  // windowBits 15 + 16: a gzip wrapper (RFC 1952) with a zero modification time, so the same text
  // gives the same annotation.
  if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(ErrorCode::kInternal, "zlib: deflateInit2 failed", "init-data");
  }
  Bytes out(deflateBound(&z, static_cast<uLong>(toml.size())) + 64);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(toml.data()));
  z.avail_in = static_cast<uInt>(toml.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&z, Z_FINISH);
  const size_t n = out.size() - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return make_error(ErrorCode::kInternal, "zlib: deflate did not finish", "init-data");
  out.resize(n);
  return base64_encode(out);
}

}  // namespace cci::kubernetes
