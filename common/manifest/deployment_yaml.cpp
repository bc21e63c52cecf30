// Strict reading of cci.yaml (see deployment.h). yaml-cpp 0.7 keeps duplicate keys and
// converts loosely ("yes" → true, "1" → 1), so every mapping goes through StrictMap, which
// rejects duplicates, unknown keys and values of the wrong YAML type, with line numbers.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <set>
#include <tuple>

#include "base/hex.h"
#include "base/text.h"
#include "manifest/deployment.h"

namespace cci::manifest {
namespace {

namespace fs = std::filesystem;

class YamlError {
 public:
  YamlError(std::string label) : label_(std::move(label)) {}
  Error at(const YAML::Node& n, const std::string& where, const std::string& msg) const {
    std::string line = n.IsDefined() && n.Mark().line >= 0 ? std::to_string(n.Mark().line + 1) : "?";
    return make_error(ErrorCode::kInvalidInput, label_ + ":" + line + ": " + (where.empty() ? "" : where + ": ") + msg,
                      where);
  }
  const std::string& label() const { return label_; }

 private:
  std::string label_;
};

// One YAML mapping whose keys are consumed by typed getters; finish() rejects the rest.
class StrictMap {
 public:
  static Result<StrictMap> open(const YAML::Node& node, std::string where, const YamlError& err) {
    if (!node.IsMap()) return err.at(node, where, "expected a mapping");
    StrictMap m(node, std::move(where), err);
    std::set<std::string> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      if (!it->first.IsScalar()) return err.at(it->first, m.where_, "keys must be plain strings");
      std::string key = it->first.Scalar();
      if (!seen.insert(key).second) return err.at(it->first, m.where_, "duplicate key '" + key + "'");
      m.entries_.emplace_back(key, it->second, it->first);
    }
    return m;
  }

  bool has(const std::string& key) const { return find(key) != nullptr; }
  std::string path(const std::string& key) const { return where_.empty() ? key : where_ + "." + key; }

  // The raw node (marks the key used); nullopt when absent.
  std::optional<YAML::Node> find_node(const std::string& key) {
    used_.insert(key);
    const Entry* e = find(key);
    if (!e) return std::nullopt;
    return std::get<1>(*e);
  }
  // The node of a key known to be present (for error positions); the mapping otherwise.
  YAML::Node node(const std::string& key) { return find_node(key).value_or(node_); }

  Result<std::optional<std::string>> string(const std::string& key) {
    auto found = find_node(key);
    if (!found) return std::optional<std::string>();
    const YAML::Node& n = *found;
    if (!n.IsScalar() || n.IsNull()) return err_.at(n, path(key), "expected a string");
    return std::optional<std::string>(n.Scalar());
  }
  Result<std::string> required_string(const std::string& key) {
    auto v = string(key);
    if (!v) return v.error();
    if (!*v || (*v)->empty()) return err_.at(node_, path(key), "required");
    return **v;
  }
  Result<std::optional<std::uint64_t>> uint(const std::string& key, std::uint64_t max) {
    auto found = find_node(key);
    if (!found) return std::optional<std::uint64_t>();
    const YAML::Node& n = *found;
    // Plain (unquoted) scalars only: "4" in quotes is a string, not a number.
    if (!n.IsScalar() || n.Tag() != "?") return err_.at(n, path(key), "expected an unquoted integer");
    const std::string& s = n.Scalar();
    int base = s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 16 : 10;
    std::string_view digits(s);
    if (base == 16) digits.remove_prefix(2);
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || v > max) {
      return err_.at(n, path(key), "expected an integer between 0 and " + std::to_string(max) + ", got '" + s + "'");
    }
    return std::optional<std::uint64_t>(v);
  }
  Result<std::optional<bool>> boolean(const std::string& key) {
    auto found = find_node(key);
    if (!found) return std::optional<bool>();
    const YAML::Node& n = *found;
    if (n.IsScalar() && n.Tag() == "?" && (n.Scalar() == "true" || n.Scalar() == "false")) {
      return std::optional<bool>(n.Scalar() == "true");
    }
    return err_.at(n, path(key), "expected true or false");
  }
  Result<std::vector<std::string>> string_list(const std::string& key) {
    auto found = find_node(key);
    std::vector<std::string> out;
    if (!found) return out;
    const YAML::Node& n = *found;
    if (!n.IsSequence()) return err_.at(n, path(key), "expected a list of strings");
    for (const auto& item : n) {
      if (!item.IsScalar()) return err_.at(item, path(key), "expected a list of strings");
      out.push_back(item.Scalar());
    }
    return out;
  }
  // Items of a list-valued key (empty when absent).
  Result<std::vector<YAML::Node>> list(const std::string& key) {
    auto found = find_node(key);
    std::vector<YAML::Node> out;
    if (!found) return out;
    const YAML::Node& n = *found;
    if (!n.IsSequence()) return err_.at(n, path(key), "expected a list");
    for (const auto& item : n) out.push_back(item);
    return out;
  }

  Status finish() const {
    for (const auto& [key, value, key_node] : entries_) {
      if (!used_.count(key)) return err_.at(key_node, where_, "unknown key '" + key + "'");
    }
    return {};
  }
  const YAML::Node& yaml() const { return node_; }

 private:
  using Entry = std::tuple<std::string, YAML::Node, YAML::Node>;
  StrictMap(const YAML::Node& node, std::string where, const YamlError& err) : node_(node), where_(std::move(where)), err_(err) {}
  const Entry* find(const std::string& key) const {
    for (const auto& e : entries_) {
      if (std::get<0>(e) == key) return &e;
    }
    return nullptr;
  }

  YAML::Node node_;
  std::string where_;
  const YamlError& err_;
  std::vector<Entry> entries_;
  std::set<std::string> used_;
};


std::string resolve(const std::string& base, const std::string& p) {
  if (p.empty() || p[0] == '/' || base.empty()) return p;
  return (fs::path(base) / p).lexically_normal().string();
}
std::optional<std::string> resolve(const std::string& base, const std::optional<std::string>& p) {
  if (!p) return p;
  return resolve(base, *p);
}

struct Reader {
  const YamlError& err;
  std::string base;

  Result<ModelInput> model(const YAML::Node& n) {
    CCI_ASSIGN(m, StrictMap::open(n, "model", err));
    ModelInput out;
    CCI_ASSIGN(path, m.string("path"));
    out.path = path ? resolve(base, *path) : std::string();
    CCI_ASSIGN(ignore, m.string_list("ignore"));
    out.ignore = ignore;
    CCI_ASSIGN(bundle, m.string("bundle"));
    CCI_ASSIGN(key, m.string("key"));
    if (bundle.has_value() != key.has_value()) return err.at(m.yaml(), "model", "bundle and key go together");
    if (!path && !bundle) return err.at(m.yaml(), "model", "give path (the model directory), bundle + key, or both");
    out.bundle = resolve(base, bundle);
    out.key = resolve(base, key);
    CCI_ASSIGN(encrypted, m.string("encrypted"));
    out.encrypted = resolve(base, encrypted);
    CCI_TRY(m.finish());
    return out;
  }

  Result<KubernetesInput> kubernetes(const YAML::Node& n, const std::vector<ImageInput>& images) {
    CCI_ASSIGN(m, StrictMap::open(n, "kubernetes", err));
    KubernetesInput out;
    CCI_ASSIGN(image, m.required_string("image"));
    // Pinned by digest: the agent policy lets only this image run, and a tag can be moved.
    const size_t at = image.rfind("@sha256:");
    if (at == std::string::npos || at == 0 || image.size() - at - 8 != 64 || image.find_first_not_of("0123456789abcdef", at + 8) != std::string::npos) {
      return err.at(m.node("image"), m.path("image"), "pin the image by digest: NAME@sha256:<64 lower-case hex digits>, not '" + image + "'");
    }
    out.image = image;
    bool snp = false, tdx = false;
    for (const auto& img : images) {
      for (const auto& l : img.launches) {
        snp = snp || l.config.mode == launch::Mode::kSnp;
        tdx = tdx || l.config.mode == launch::Mode::kTdx;
      }
    }
    CCI_ASSIGN(rc, m.string("runtime_class"));
    if (rc) {
      out.runtime_class = *rc;
    } else if (snp != tdx) {
      out.runtime_class = snp ? "kata-qemu-snp" : "kata-qemu-tdx";  // the Confidential Containers operator's names
    } else {
      return err.at(m.yaml(), m.path("runtime_class"), "required: the images name " + std::string(snp ? "both snp and tdx launches" : "no snp or tdx launch") +
                                                         ", so say which Kata runtime class the pods use (e.g. kata-qemu-snp)");
    }
    CCI_ASSIGN(port, m.uint("port", 65535));
    if (port) {
      if (*port == 0) return err.at(m.node("port"), m.path("port"), "must be between 1 and 65535");
      out.port = static_cast<unsigned>(*port);
    }
    CCI_ASSIGN(model_path, m.string("model_path"));
    if (model_path) {
      if (model_path->empty() || (*model_path)[0] != '/') return err.at(m.node("model_path"), m.path("model_path"), "must be an absolute path inside the container");
      out.model_path = *model_path;
    }
    CCI_ASSIGN(key_source, m.string("key_source"));
    if (key_source) {
      const std::string& ks = *key_source;
      if (ks.rfind("file://", 0) == 0) {
        return err.at(m.node("key_source"), m.path("key_source"), "file:// is for development only; a pod gets its key by push, cdh:// or kbs://");
      }
      if (ks.rfind("kbs://", 0) == 0) {
        return err.at(m.node("key_source"), m.path("key_source"),
                      "in a pod, use cdh:///REPO/TYPE/TAG: the pod's Confidential Data Hub attests to the KBS at kbs_url and hands the key to cci-run");
      }
      if (ks != "push" && ks.rfind("cdh:///", 0) != 0) {
        return err.at(m.node("key_source"), m.path("key_source"), "must be push or cdh:///REPO/TYPE/TAG");
      }
      out.key_source = ks;
    }
    CCI_ASSIGN(kbs_url, m.string("kbs_url"));
    if (kbs_url && kbs_url->rfind("http://", 0) != 0 && kbs_url->rfind("https://", 0) != 0) {
      return err.at(m.node("kbs_url"), m.path("kbs_url"), "must be an http:// or https:// URL (trustee's KBS)");
    }
    out.kbs_url = kbs_url;
    if (out.key_source.rfind("cdh://", 0) == 0 && !out.kbs_url) {
      return err.at(m.yaml(), m.path("kbs_url"), "required with a cdh:// key source: the pod's data hub gets the key from this KBS");
    }
    CCI_ASSIGN(kbs_cert, m.string("kbs_cert"));
    if (kbs_cert && !out.kbs_url) return err.at(m.node("kbs_cert"), m.path("kbs_cert"), "goes with kbs_url");
    out.kbs_cert = resolve(base, kbs_cert);
    CCI_ASSIGN(alg, m.string("init_data_algorithm"));
    if (alg) {
      if (*alg != "sha256" && *alg != "sha384" && *alg != "sha512") {
        return err.at(m.node("init_data_algorithm"), m.path("init_data_algorithm"), "must be sha256, sha384 or sha512");
      }
      out.init_data_algorithm = *alg;
    }
    CCI_TRY(m.finish());
    return out;
  }

  Result<LaunchInput> launch_config(const YAML::Node& n, const std::string& where) {
    CCI_ASSIGN(m, StrictMap::open(n, where, err));
    LaunchInput out;
    CCI_ASSIGN(mode_name, m.required_string("mode"));
    auto mode = launch::mode_from_name(mode_name);
    if (!mode || *mode == launch::Mode::kSnpOvmfHash) {
      return err.at(m.node("mode"), m.path("mode"), "must be snp, seves, sev, csv or tdx, not '" + mode_name + "'");
    }
    auto& c = out.config;
    c.mode = *mode;
    if (c.mode == launch::Mode::kTdx) {
      // MRTD covers the firmware only: without RTMR0-3 nothing would bind the kernel, the command
      // line or the disk the TD boots, so the reference values are required.
      CCI_ASSIGN(rtmrs, m.string_list("rtmrs"));
      if (!m.has("rtmrs") || rtmrs.size() != 4) {
        return err.at(m.yaml(), m.path("rtmrs"),
                      "a tdx launch needs rtmrs: RTMR0-3 (96 hex digits each) as a reference boot of this image reports them "
                      "(cci-verify show QUOTE --event-log CCEL prints them): MRTD alone covers only the firmware");
      }
      std::array<Bytes, 4> regs;
      for (size_t i = 0; i < 4; ++i) {
        auto b = from_hex(rtmrs[i], "rtmrs", 48);
        if (!b) return err.at(m.node("rtmrs"), m.path("rtmrs") + "[" + std::to_string(i) + "]", "expected 96 hex digits (RTMR" + std::to_string(i) + ")");
        regs[i] = std::move(*b);
      }
      out.tdx_rtmrs = std::move(regs);
      CCI_ASSIGN(config_id, m.string("mr_config_id"));
      if (config_id) {
        auto b = from_hex(*config_id, "mr_config_id", 48);
        if (!b) return err.at(m.node("mr_config_id"), m.path("mr_config_id"), "expected 96 hex digits");
        out.tdx_mr_config_id = std::move(*b);
      }
    }
    CCI_ASSIGN(vcpus, m.uint("vcpus", launch::kMaxVcpus));
    c.vcpus = static_cast<unsigned>(vcpus.value_or(0));
    if ((c.mode == launch::Mode::kSnp || c.mode == launch::Mode::kSevEs) && (!vcpus || *vcpus == 0)) {
      return err.at(m.yaml(), m.path("vcpus"), "required for " + mode_name + " (1.." + std::to_string(launch::kMaxVcpus) + ")");
    }
    CCI_ASSIGN(vmm, m.string("vmm_type"));
    if (vmm) {
      auto t = launch::vmm_type_from_name(*vmm);
      if (!t) return err.at(m.node("vmm_type"), m.path("vmm_type"), "must be qemu, ec2 or gce");
      c.vmm = *t;
    }
    launch::VcpuSpec spec;
    CCI_ASSIGN(type, m.string("vcpu_type"));
    CCI_ASSIGN(sig, m.uint("vcpu_sig", UINT32_MAX));
    CCI_ASSIGN(family, m.uint("vcpu_family", 0xff + 0xf));
    CCI_ASSIGN(model, m.uint("vcpu_model", 0xff));
    CCI_ASSIGN(stepping, m.uint("vcpu_stepping", 0xf));
    spec.type = type;
    if (sig) spec.sig = static_cast<std::uint32_t>(*sig);
    if (family) spec.family = static_cast<std::uint32_t>(*family);
    if (model) spec.model = static_cast<std::uint32_t>(*model);
    if (stepping) spec.stepping = static_cast<std::uint32_t>(*stepping);
    auto resolved = launch::resolve_vcpu_signature(spec, c.mode, c.vmm);
    if (!resolved) return err.at(m.yaml(), where, resolved.error().message);
    c.vcpu_sig = *resolved;
    out.vcpu_type = type;
    CCI_ASSIGN(features, m.uint("guest_features", UINT64_MAX));
    if (features) {
      if (c.mode != launch::Mode::kSnp) return err.at(m.node("guest_features"), m.path("guest_features"), "only applies to snp");
      c.guest_features = *features;
    }
    CCI_ASSIGN(ovmf_hash, m.string("snp_ovmf_hash"));
    if (ovmf_hash) {
      auto h = from_hex(*ovmf_hash, "snp_ovmf_hash", 48);
      if (!h || c.mode != launch::Mode::kSnp) {
        return err.at(m.node("snp_ovmf_hash"), m.path("snp_ovmf_hash"), "expected 96 hex digits, snp mode only");
      }
      c.snp_ovmf_hash = *h;
    }
    CCI_TRY(m.finish());
    return out;
  }

  Result<ImageInput> image(const YAML::Node& n, const std::string& where) {
    CCI_ASSIGN(m, StrictMap::open(n, where, err));
    ImageInput out;
    CCI_ASSIGN(name, m.required_string("name"));
    CCI_ASSIGN(ovmf, m.required_string("ovmf"));
    CCI_ASSIGN(kernel, m.string("kernel"));
    CCI_ASSIGN(initrd, m.string("initrd"));
    CCI_ASSIGN(append, m.string("append"));
    out.name = name;
    out.ovmf = resolve(base, ovmf);
    out.kernel = resolve(base, kernel);
    out.initrd = resolve(base, initrd);
    out.append = append;
    if (!kernel && (initrd || append)) return err.at(m.yaml(), where, "initrd and append need a kernel");
    CCI_ASSIGN(items, m.list("launch"));
    if (items.empty()) return err.at(m.yaml(), m.path("launch"), "list at least one launch configuration");
    for (size_t i = 0; i < items.size(); ++i) {
      CCI_ASSIGN(l, launch_config(items[i], m.path("launch") + "[" + std::to_string(i) + "]"));
      l.config.ovmf = out.ovmf;
      l.config.kernel = out.kernel;
      l.config.initrd = out.initrd;
      l.config.append = out.append;
      out.launches.push_back(std::move(l));
    }
    CCI_TRY(m.finish());
    return out;
  }

  Result<launch::VerityParams> verity(const YAML::Node& n, const std::string& where) {
    CCI_ASSIGN(m, StrictMap::open(n, where, err));
    launch::VerityParams p;
    CCI_ASSIGN(salt, m.required_string("salt"));
    if (salt != "-") {
      auto s = from_hex(salt, "salt");
      if (!s || s->size() > 256) return err.at(m.node("salt"), m.path("salt"), "expected hex (at most 256 bytes) or '-' for none");
      p.salt = *s;
    }
    CCI_ASSIGN(hash, m.string("hash"));
    if (hash) {
      auto alg = crypto::digest_from_name(*hash);
      if (!alg || (*alg != crypto::DigestAlg::kSha256 && *alg != crypto::DigestAlg::kSha512)) {
        return err.at(m.node("hash"), m.path("hash"), "must be sha256 or sha512");
      }
      p.hash = *alg;
    }
    CCI_ASSIGN(dbs, m.uint("data_block_size", 1u << 20));
    CCI_ASSIGN(hbs, m.uint("hash_block_size", 1u << 20));
    CCI_ASSIGN(format, m.uint("format", 1));
    if (dbs) p.data_block_size = static_cast<std::uint32_t>(*dbs);
    if (hbs) p.hash_block_size = static_cast<std::uint32_t>(*hbs);
    if (format) p.format = static_cast<std::uint32_t>(*format);
    CCI_TRY(m.finish());
    return p;
  }

  Result<DiskInput> disk(const YAML::Node& n, const std::string& where) {
    CCI_ASSIGN(m, StrictMap::open(n, where, err));
    DiskInput out;
    CCI_ASSIGN(name, m.required_string("name"));
    CCI_ASSIGN(path, m.required_string("path"));
    out.name = name;
    out.path = resolve(base, path);
    if (m.has("verity")) {
      CCI_ASSIGN(v, verity(m.node("verity"), m.path("verity")));
      out.verity = std::move(v);
    }
    CCI_TRY(m.finish());
    return out;
  }

  Result<Json> version_string(StrictMap& m, const std::string& key) {
    CCI_ASSIGN(v, m.string(key));
    if (!v) return Json();
    unsigned major = 0, minor = 0;
    char tail = 0;
    if (std::sscanf(v->c_str(), "%u.%u%c", &major, &minor, &tail) != 2 || major > 255 || minor > 255) {
      return err.at(m.node(key), m.path(key), "expected MAJOR.MINOR, e.g. \"1.55\"");
    }
    return Json(*v);
  }

  // A list of bit numbers 0..63 (PLATFORM_INFO bits, mitigation-vector bits).
  Result<Json> bit_list(StrictMap& m, const std::string& key) {
    CCI_ASSIGN(items, m.list(key));
    if (!m.has(key)) return Json();
    Json out = Json::array();
    for (const auto& item : items) {
      const std::string& t = item.Scalar();
      unsigned v = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (!item.IsScalar() || item.Tag() != "?" || t.empty() || ec != std::errc() || end != t.data() + t.size() || v > 63) {
        return err.at(item, m.path(key), "expected bit numbers 0..63");
      }
      out.push_back(v);
    }
    return out;
  }

  // Policy expectations (the policy layer of the verifiers applies them). Booleans that
  // relax security default to the secure value and are always written out.
  Result<Json> policy(const YAML::Node& n) {
    CCI_ASSIGN(m, StrictMap::open(n, "policy", err));
    Json out = Json::object();
    for (auto [key, def] : {std::pair{"allow_debug", false}, std::pair{"allow_migration_agent", false},
                            std::pair{"allow_vlek", false}, std::pair{"allow_smt", true},
                            std::pair{"require_single_socket", false}}) {
      CCI_ASSIGN(b, m.boolean(key));
      out[key] = b.value_or(def);
    }
    CCI_ASSIGN(vmpl, m.uint("max_vmpl", 3));
    if (vmpl) out["max_vmpl"] = *vmpl;
    CCI_ASSIGN(exact_vmpl, m.uint("vmpl", 3));
    if (exact_vmpl) out["vmpl"] = *exact_vmpl;
    CCI_ASSIGN(build, m.uint("min_build", 255));
    if (build) out["min_build"] = *build;
    // 64-bit values are kept as hex strings: JSON readers differ on integers above 2^53.
    for (const char* key : {"platform_info", "min_tcb_version"}) {
      CCI_ASSIGN(v, m.uint(key, UINT64_MAX));
      if (v) out[key] = to_hex_u64(*v);
    }
    CCI_ASSIGN(svn, m.uint("min_guest_svn", UINT32_MAX));
    if (svn) out["min_guest_svn"] = *svn;
    for (const char* key : {"platform_info_required", "platform_info_forbidden", "required_mitigations"}) {
      CCI_ASSIGN(bits, bit_list(m, key));
      if (!bits.is_null()) out[key] = bits;
    }
    for (auto [key, bytes] : {std::pair{"id_key_digest", 48}, std::pair{"author_key_digest", 48}, std::pair{"family_id", 16},
                              std::pair{"image_id", 16}, std::pair{"chip_id", 64}}) {
      CCI_ASSIGN(v, m.string(key));
      if (!v) continue;
      auto b = from_hex(*v, key, static_cast<size_t>(bytes));
      if (!b) return err.at(m.node(key), m.path(key), "expected " + std::to_string(bytes * 2) + " hex digits");
      out[key] = to_hex(*b);
    }
    if (m.has("min_tcb")) {
      CCI_ASSIGN(t, StrictMap::open(m.node("min_tcb"), "policy.min_tcb", err));
      Json tcb = Json::object();
      for (const char* c : {"bootloader", "tee", "snp", "microcode", "fmc"}) {
        CCI_ASSIGN(v, t.uint(c, 255));
        if (v) tcb[c] = *v;
      }
      CCI_TRY(t.finish());
      out["min_tcb"] = tcb;
    }
    for (const char* key : {"min_firmware", "min_abi"}) {
      CCI_ASSIGN(v, version_string(m, key));
      if (!v.is_null()) out[key] = v;
    }
    CCI_ASSIGN(host_data, m.string("host_data"));
    if (host_data) {
      if (!from_hex(*host_data, "host_data", 32)) return err.at(m.node("host_data"), m.path("host_data"), "expected 64 hex digits");
      out["host_data"] = *host_data;
    }
    CCI_ASSIGN(csv_gen, m.string("csv_generation"));
    if (csv_gen) {
      if (*csv_gen != "csv" && *csv_gen != "csv2" && *csv_gen != "csv3") {
        return err.at(m.node("csv_generation"), m.path("csv_generation"), "must be csv, csv2 or csv3");
      }
      out["csv_generation"] = *csv_gen;
    }
    CCI_ASSIGN(eval, m.uint("min_tcb_evaluation_number", UINT32_MAX));
    if (eval) out["min_tcb_evaluation_number"] = *eval;
    CCI_ASSIGN(statuses, m.list("tdx_accept_tcb_status"));
    if (m.has("tdx_accept_tcb_status")) {
      Json list = Json::array();
      // The statuses of Intel's TCB Info that a policy may accept (UpToDate always is, Revoked never).
      static const char* const ok[] = {"SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate",
                                       "OutOfDateConfigurationNeeded"};
      for (const auto& item : statuses) {
        if (!item.IsScalar() || std::find(std::begin(ok), std::end(ok), item.Scalar()) == std::end(ok)) {
          return err.at(item, m.path("tdx_accept_tcb_status"),
                        "expected TCB statuses other than UpToDate and Revoked (SWHardeningNeeded, ConfigurationNeeded, "
                        "ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded)");
        }
        list.push_back(item.Scalar());
      }
      out["tdx_accept_tcb_status"] = list;
    }
    // NVIDIA GPU evidence (policy/nvgpu_policy.h).
    CCI_ASSIGN(gpus, m.uint("gpu_count", 64));
    if (gpus) {
      if (*gpus == 0) return err.at(m.node("gpu_count"), m.path("gpu_count"), "expected 1..64 GPUs");
      out["gpu_count"] = *gpus;
    }
    CCI_ASSIGN(driver, m.string("gpu_min_driver_version"));
    if (driver) {
      if (!parse_dotted_version(*driver, 10, 1, 4)) {
        return err.at(m.node("gpu_min_driver_version"), m.path("gpu_min_driver_version"), "expected a driver version such as \"550.90.07\"");
      }
      out["gpu_min_driver_version"] = *driver;
    }
    CCI_ASSIGN(vbios, m.string("gpu_min_vbios_version"));
    if (vbios) {
      auto v = fixed_dotted_hex(*vbios, 5, 2);
      if (!v) return err.at(m.node("gpu_min_vbios_version"), m.path("gpu_min_vbios_version"), "expected a VBIOS version such as \"96.00.9f.00.01\"");
      out["gpu_min_vbios_version"] = *v;
    }
    CCI_ASSIGN(ppcie, m.boolean("gpu_allow_ppcie"));
    if (ppcie) out["gpu_allow_ppcie"] = *ppcie;
    CCI_TRY(m.finish());
    return out;
  }
};

}  // namespace

namespace {

// YAML text to a node; a syntax error names the file and line.
Result<YAML::Node> load_yaml(std::string_view text, const std::string& file_label) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return make_error(ErrorCode::kInvalidInput,
                      file_label + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg, "yaml");
  }
}

}  // namespace

Result<Json> parse_policy_yaml(std::string_view text, const std::string& file_label) {
  YamlError err(file_label);
  auto root = load_yaml(text, file_label);
  if (!root) return root.error();
  Reader r{err, ""};
  return r.policy(root->IsNull() ? YAML::Load("{}") : *root);
}

Result<DeploymentInput> parse_deployment_yaml(std::string_view text, const std::string& base_dir, const std::string& file_label) {
  YamlError err(file_label);
  auto loaded = load_yaml(text, file_label);
  if (!loaded) return loaded.error();
  const YAML::Node root = *loaded;
  Reader r{err, base_dir};
  CCI_ASSIGN(m, StrictMap::open(root, "", err));
  CCI_ASSIGN(version, m.uint("version", 1000));
  if (!version || *version != static_cast<std::uint64_t>(kDeploymentSchemaVersion)) {
    return err.at(m.has("version") ? m.node("version") : root, "version", "must be 1 (the input format version)");
  }
  DeploymentInput in;
  CCI_ASSIGN(name, m.required_string("name"));
  in.name = name;
  if (m.has("model")) {
    CCI_ASSIGN(model, r.model(m.node("model")));
    in.model = std::move(model);
  }
  CCI_ASSIGN(images, m.list("images"));
  std::set<std::string> names;
  for (size_t i = 0; i < images.size(); ++i) {
    CCI_ASSIGN(img, r.image(images[i], "images[" + std::to_string(i) + "]"));
    if (!names.insert("image:" + img.name).second) return err.at(images[i], "images", "duplicate image name '" + img.name + "'");
    in.images.push_back(std::move(img));
  }
  CCI_ASSIGN(disks, m.list("disks"));
  for (size_t i = 0; i < disks.size(); ++i) {
    CCI_ASSIGN(d, r.disk(disks[i], "disks[" + std::to_string(i) + "]"));
    if (!names.insert("disk:" + d.name).second) return err.at(disks[i], "disks", "duplicate disk name '" + d.name + "'");
    in.disks.push_back(std::move(d));
  }
  if (m.has("kubernetes")) {
    CCI_ASSIGN(k, r.kubernetes(m.node("kubernetes"), in.images));
    in.kubernetes = std::move(k);
  }
  if (m.has("policy")) {
    CCI_ASSIGN(p, r.policy(m.node("policy")));
    in.policy = std::move(p);
  } else {
    CCI_ASSIGN(p, r.policy(YAML::Load("{}")));
    in.policy = std::move(p);
  }
  CCI_TRY(m.finish());
  if (!in.model && in.images.empty() && in.disks.empty()) {
    return err.at(root, "", "the manifest measures nothing: give a model, images or disks");
  }
  return in;
}

}  // namespace cci::manifest
