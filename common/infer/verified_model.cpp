#include "infer/verified_model.h"

#include <filesystem>
#include <map>
#include <set>

#include "base/file_io.h"
#include "base/hex.h"
#include "crypto/digest.h"
#include "crypto/random.h"

namespace cci::infer {
namespace {

namespace fs = std::filesystem;

Error file_error(const std::string& name, const std::string& what) {
  return make_error(ErrorCode::kVerificationFailed, name + ": " + what + " (the model does not match its signed manifest)", name);
}

Error signature_failure(const manifest::ModelVerification& v) {
  for (const auto& c : v.checks) {
    if (!c.passed) return make_error(ErrorCode::kVerificationFailed, "the model bundle does not verify: " + c.id + ": " + c.detail, c.id);
  }
  return make_error(ErrorCode::kVerificationFailed, "the model bundle does not verify", "bundle");
}

std::string first_finding(const manifest::ModelVerification& v) {
  for (const auto& f : v.files) return f.name + " (" + manifest::file_finding_name(f.kind) + ")";
  return "the model";
}

// Signed digests by file, and which of them have been matched.
struct Ledger {
  crypto::DigestAlg alg = crypto::DigestAlg::kSha256;
  std::map<std::string, Bytes> want;
  std::set<std::string> seen;
  Status check(const std::string& name, ByteView bytes) {
    auto it = want.find(name);
    if (it == want.end()) return file_error(name, "not in the signed manifest");
    crypto::Hasher h(alg);
    h.update(bytes);
    if (!crypto::ct_equal(h.finish(), it->second)) return file_error(name, "content differs from the signed digest");
    seen.insert(name);
    return {};
  }
};

bool is_weight_file(const std::string& name, bool single_file) {
  return single_file || (name.size() > 12 && name.compare(name.size() - 12, 12, ".safetensors") == 0);
}

}  // namespace

Result<LoadedModel> load_verified_model(const std::string& path, ByteView bundle_json, manifest::VerifyModelOptions opts) {
  opts.source.dir = path;
  opts.signature_only = true;
  auto sig = manifest::verify_model(bundle_json, opts);
  if (!sig) return sig.error();
  if (!sig->passed) return signature_failure(*sig);
  const auto& ser = sig->statement.serialization;
  if (ser.method != manifest::Method::kFiles) {
    opts.signature_only = false;
    auto full = manifest::verify_model(bundle_json, opts);
    if (!full) return full.error();
    if (!full->passed) return file_error(first_finding(*full), "does not match the signed manifest");
    return load_model(path);
  }
  Ledger ledger;
  ledger.alg = ser.hash;
  for (const auto& r : sig->statement.resources) ledger.want[r.name] = r.digest;
  std::vector<std::string> ignores = ser.ignore_paths;
  ignores.insert(ignores.end(), opts.source.ignore.begin(), opts.source.ignore.end());
  auto files = manifest::list_model_files(path, manifest::TreeOptions{ignores, ser.allow_symlinks});
  if (!files) return files.error();
  std::error_code ec;
  const bool single_file = !fs::is_directory(path, ec);
  std::set<std::string> on_disk;
  for (const auto& f : *files) {
    on_disk.insert(f.name);
    if (ledger.want.count(f.name) == 0) return file_error(f.name, "extra file, not in the signed manifest");
    if (is_weight_file(f.name, single_file)) continue;  // hashed when mapped
    auto bytes = read_file(f.path, 1u << 30);
    if (!bytes) return bytes.error();
    CCI_TRY(ledger.check(f.name, *bytes));
  }
  for (const auto& [name, digest] : ledger.want) {
    if (on_disk.count(name) == 0) return file_error(name, "missing (signed but not present)");
  }
  auto model = load_model(path, [&](const std::string& name, ByteView bytes) { return ledger.check(name, bytes); });
  if (!model) return model.error();
  // Signed weight files the loader did not need (say, a shard no index names) are still checked.
  for (const auto& f : *files) {
    if (ledger.seen.count(f.name) != 0) continue;
    auto mf = MappedFile::open(f.path);
    if (!mf) return mf.error();
    CCI_TRY(ledger.check(f.name, (*mf)->bytes()));
  }
  return model;
}

}  // namespace cci::infer
