// See incremental.h.
#include "manifest/incremental.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "manifest/oms.h"

namespace cci::manifest {
namespace {

using Json = nlohmann::json;

constexpr const char* kStateSchema = "cci.measure.state.v1";

Error bad_state(const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, "incremental state: " + msg, field);
}

FileIdentity identity_of(const TreeFile& f) {
  return {f.size, static_cast<std::uint64_t>(f.dev), static_cast<std::uint64_t>(f.ino), f.mtime_ns, f.ctime_ns};
}

// The resources of one file in manifest order: its own name (files), or its shards.
std::vector<std::string> resource_names(const TreeFile& f, const HashConfig& cfg) {
  if (cfg.method == Method::kFiles) return {f.name};
  std::vector<std::string> out;
  for (std::uint64_t start = 0; start < f.size; start += cfg.shard_size) {
    out.push_back(f.name + ":" + std::to_string(start) + ":" + std::to_string(std::min(f.size, start + cfg.shard_size)));
  }
  return out;
}

}  // namespace

std::string incremental_state(const std::vector<TreeFile>& files, const HashConfig& cfg, ByteView bundle) {
  Json list = Json::array();
  for (const auto& f : files) {
    const FileIdentity id = identity_of(f);
    list.push_back({{"name", f.name}, {"size", id.size}, {"dev", id.dev}, {"ino", id.ino}, {"mtime_ns", id.mtime_ns}, {"ctime_ns", id.ctime_ns}});
  }
  Json j{{"schema", kStateSchema},
         {"bundle_sha256", to_hex(crypto::digest(crypto::DigestAlg::kSha256, bundle))},
         {"algorithm", resource_algorithm(cfg)},
         {"files", list}};
  return j.dump(1) + "\n";
}

Result<IncrementalState> parse_incremental_state(std::string_view state) {
  Json j = Json::parse(state.begin(), state.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad_state("not a JSON object", "state");
  if (!j.contains("schema") || j["schema"] != kStateSchema) return bad_state(std::string("schema is not ") + kStateSchema, "schema");
  if (!j.contains("bundle_sha256") || !j["bundle_sha256"].is_string()) return bad_state("bundle_sha256 is missing", "bundle_sha256");
  if (!j.contains("algorithm") || !j["algorithm"].is_string()) return bad_state("algorithm is missing", "algorithm");
  if (!j.contains("files") || !j["files"].is_array()) return bad_state("files is missing", "files");
  IncrementalState out;
  out.bundle_sha256 = j["bundle_sha256"].get<std::string>();
  out.algorithm = j["algorithm"].get<std::string>();
  // JSON integers only: a number with a fraction or an exponent (1e30) is refused, never converted
  // (a double out of range converts with undefined behaviour).
  auto unsigned_of = [](const Json& e, const char* key) -> std::optional<std::uint64_t> {
    const auto it = e.find(key);
    if (it == e.end() || !it->is_number_unsigned()) return std::nullopt;
    return it->get<std::uint64_t>();
  };
  auto signed_of = [](const Json& e, const char* key) -> std::optional<std::int64_t> {
    const auto it = e.find(key);
    if (it == e.end() || !it->is_number_integer()) return std::nullopt;
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return it->get<std::int64_t>();
  };
  const auto lacks = [] { return bad_state("a files entry lacks name, or an integer size, dev, ino, mtime_ns or ctime_ns", "files"); };
  for (const auto& e : j["files"]) {
    if (!e.is_object()) return lacks();
    const auto size = unsigned_of(e, "size"), dev = unsigned_of(e, "dev"), ino = unsigned_of(e, "ino");
    const auto mtime = signed_of(e, "mtime_ns"), ctime = signed_of(e, "ctime_ns");
    if (!size || !dev || !ino || !mtime || !ctime || !e.contains("name") || !e["name"].is_string()) return lacks();
    out.files[e["name"].get<std::string>()] = FileIdentity{*size, *dev, *ino, *mtime, *ctime};
  }
  return out;
}

Result<IncrementalPlan> plan_incremental(ByteView old_bundle, std::string_view state, const crypto::PublicKey& signer,
                                         const std::vector<TreeFile>& files, const HashConfig& cfg) {
  auto b = oms::parse_bundle(old_bundle);
  if (!b) return b.error();
  if (!crypto::verify(signer, oms::dsse_pae(b->payload_type, b->payload), b->signature)) {
    return make_error(ErrorCode::kInvalidInput, "the previous bundle does not verify with the signing key: its digests cannot be reused",
                      "signature");
  }
  auto st = oms::parse_statement(b->payload);
  if (!st) return st.error();

  CCI_ASSIGN(recorded, parse_incremental_state(state));
  if (recorded.bundle_sha256 != to_hex(crypto::digest(crypto::DigestAlg::kSha256, old_bundle))) {
    return make_error(ErrorCode::kInvalidInput, "the incremental state was written for another bundle (bundle_sha256 differs)", "bundle_sha256");
  }
  IncrementalPlan plan;
  const std::string algorithm = resource_algorithm(cfg);
  if (recorded.algorithm != algorithm) {
    plan.note = "the previous bundle used " + recorded.algorithm + ", this one " + algorithm + ": every file is hashed";
    return plan;
  }
  std::map<std::string, const Bytes*> signed_digests;
  for (const auto& r : st->resources) {
    if (r.algorithm == algorithm) signed_digests[r.name] = &r.digest;
  }
  for (size_t fi = 0; fi < files.size(); ++fi) {
    const TreeFile& f = files[fi];
    auto it = recorded.files.find(f.name);
    if (it == recorded.files.end() || !(it->second == identity_of(f))) continue;
    // Every resource of the file must be in the signed statement, or the file is hashed again.
    const auto names = resource_names(f, cfg);
    std::vector<const Bytes*> found;
    for (const auto& n : names) {
      auto d = signed_digests.find(n);
      if (d == signed_digests.end()) break;
      found.push_back(d->second);
    }
    if (found.size() != names.size()) continue;
    for (size_t i = 0; i < names.size(); ++i) plan.known[names[i]] = *found[i];
    plan.reused.push_back(fi);
    plan.bytes_reused += f.size;
  }
  return plan;
}

Status check_reused_unchanged(const std::vector<TreeFile>& files, const IncrementalPlan& plan) {
  for (size_t i : plan.reused) {
    const TreeFile& f = files.at(i);
    struct stat st {};
    if (::stat(f.path.c_str(), &st) != 0) return make_error(ErrorCode::kIo, "cannot stat " + f.name + ": " + errno_text(errno), f.name);
    TreeFile now = f;
    now.size = static_cast<std::uint64_t>(st.st_size);
    now.dev = st.st_dev;
    now.ino = st.st_ino;
    now.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    now.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    if (!(identity_of(now) == identity_of(f))) {
      return make_error(ErrorCode::kInvalidInput, f.name + " changed while the model was being signed: sign again", f.name);
    }
  }
  return {};
}

}  // namespace cci::manifest
