#include "infer/verified_model.h"

#include <algorithm>
#include <map>
#include <set>

#include "base/file_io.h"
#include "crypto/digest.h"
#include "crypto/random.h"

namespace cci::infer {
namespace {

Error file_error(const std::string& name, const std::string& what) {
  return make_error(ErrorCode::kVerificationFailed, name + ": " + what + " (the model does not match its signed manifest)", name);
}

Error signature_failure(const manifest::ModelVerification& v) {
  for (const auto& c : v.checks) {
    if (!c.passed) return make_error(ErrorCode::kVerificationFailed, "the model bundle does not verify: " + c.id + ": " + c.detail, c.id);
  }
  return make_error(ErrorCode::kVerificationFailed, "the model bundle does not verify", "bundle");
}

struct Shard {
  std::uint64_t start = 0, end = 0;
  Bytes digest;
};

// The signed digests of every file (files mode) or of every shard of every file (shards mode),
// and which files have been checked.
struct Ledger {
  manifest::Method method = manifest::Method::kFiles;
  crypto::DigestAlg alg = crypto::DigestAlg::kSha256;
  std::uint64_t shard_size = 0;
  std::map<std::string, std::vector<Shard>> want;  // files mode: one "shard" covering the file
  std::set<std::string> seen;

  static Result<Ledger> of(const manifest::oms::Statement& s) {
    Ledger l;
    l.method = s.serialization.method;
    l.alg = s.serialization.hash;
    if (l.method == manifest::Method::kShards) {
      if (!s.serialization.shard_size || *s.serialization.shard_size == 0) {
        return make_error(ErrorCode::kMalformed, "the signed serialization has no shard size", "serialization");
      }
      l.shard_size = *s.serialization.shard_size;
    }
    for (const auto& r : s.resources) {
      if (l.method == manifest::Method::kFiles) {
        if (!l.want.emplace(r.name, std::vector<Shard>{{0, 0, r.digest}}).second) {
          return make_error(ErrorCode::kMalformed, "the signed manifest names " + r.name + " twice", r.name);
        }
        continue;
      }
      CCI_ASSIGN(sn, manifest::parse_shard_name(r.name));
      l.want[sn.path].push_back({sn.start, sn.end, r.digest});
    }
    for (auto& [name, shards] : l.want) {
      std::sort(shards.begin(), shards.end(), [](const Shard& a, const Shard& b) { return a.start < b.start; });
    }
    return l;
  }

  Status check(const std::string& name, ByteView bytes) {
    auto it = want.find(name);
    if (it == want.end()) {
      // Shards mode leaves empty files out of the manifest (the reference does): nothing to sign.
      if (method == manifest::Method::kShards && bytes.empty()) {
        seen.insert(name);
        return {};
      }
      return file_error(name, "not in the signed manifest");
    }
    if (method == manifest::Method::kFiles) {
      crypto::Hasher h(alg);
      h.update(bytes);
      if (!crypto::ct_equal(h.finish(), it->second[0].digest)) return file_error(name, "content differs from the signed digest");
      seen.insert(name);
      return {};
    }
    // The shards the file's size gives must be exactly the signed ones, each with its digest.
    const auto& shards = it->second;
    size_t i = 0;
    for (std::uint64_t start = 0; start < bytes.size(); start += shard_size, ++i) {
      const std::uint64_t end = std::min<std::uint64_t>(bytes.size(), start + shard_size);
      if (i >= shards.size() || shards[i].start != start || shards[i].end != end) return file_error(name, "its size differs from the signed shards");
      crypto::Hasher h(alg);
      h.update(bytes.subspan(static_cast<size_t>(start), static_cast<size_t>(end - start)));
      if (!crypto::ct_equal(h.finish(), shards[i].digest)) {
        return file_error(name, "shard " + std::to_string(start) + ":" + std::to_string(end) + " differs from the signed digest");
      }
    }
    if (i != shards.size()) return file_error(name, "its size differs from the signed shards");
    seen.insert(name);
    return {};
  }
};

// Serves the loader only what the ledger has accepted, through the descriptors.
class VerifiedReader final : public ModelReader {
 public:
  VerifiedReader(const manifest::OpenedModel& files, Ledger& ledger) : files_(files), ledger_(ledger) {}
  const std::string& where() const override { return files_.where(); }
  bool single_file() const override { return files_.single_file(); }
  std::string single_name() const override { return files_.files().empty() ? std::string() : files_.files().front().name; }
  bool has(const std::string& name) const override { return files_.find(name) != nullptr; }
  Result<Bytes> read(const std::string& name, size_t max_bytes) override {
    const auto* f = files_.find(name);
    if (!f) return make_error(ErrorCode::kIo, where() + " has no " + name, name);
    CCI_ASSIGN(bytes, read_fd(f->fd.get(), name, max_bytes));
    CCI_TRY(ledger_.check(name, bytes));  // parsed from exactly the bytes that were hashed
    return bytes;
  }
  Result<std::shared_ptr<const MappedFile>> map(const std::string& name) override {
    const auto* f = files_.find(name);
    if (!f) return make_error(ErrorCode::kIo, where() + " has no " + name, name);
    CCI_ASSIGN(mf, MappedFile::map_fd(f->fd.get(), name));
    CCI_TRY(ledger_.check(name, mf->bytes()));  // used through the mapping that was hashed
    return mf;
  }

 private:
  const manifest::OpenedModel& files_;
  Ledger& ledger_;
};

}  // namespace

manifest::TreeOptions tree_options_for(const manifest::oms::Statement& expected, const std::vector<std::string>& extra_ignores) {
  manifest::TreeOptions t;
  t.ignore_paths = expected.serialization.ignore_paths;
  t.ignore_paths.insert(t.ignore_paths.end(), extra_ignores.begin(), extra_ignores.end());
  t.allow_symlinks = expected.serialization.allow_symlinks;
  return t;
}

Result<LoadedModel> load_verified_model(const manifest::OpenedModel& files, const manifest::oms::Statement& expected) {
  CCI_ASSIGN(ledger, Ledger::of(expected));
  // Extra and missing files first: they need no reading.
  std::set<std::string> present;
  for (const auto& f : files.files()) {
    present.insert(f.name);
    if (ledger.want.count(f.name) == 0 && ledger.method == manifest::Method::kFiles) return file_error(f.name, "extra file, not in the signed manifest");
  }
  for (const auto& [name, shards] : ledger.want) {
    if (present.count(name) == 0) return file_error(name, "missing (signed but not present)");
  }
  VerifiedReader reader(files, ledger);
  auto model = load_model(reader);
  if (!model) return model.error();
  // Signed files the loader did not need (a README, a shard no index names) are checked too.
  for (const auto& f : files.files()) {
    if (ledger.seen.count(f.name) != 0) continue;
    auto mf = MappedFile::map_fd(f.fd.get(), f.name);
    if (!mf) return mf.error();
    CCI_TRY(ledger.check(f.name, (*mf)->bytes()));
  }
  return model;
}

Result<LoadedModel> load_verified_model(const std::string& path, ByteView bundle_json, manifest::VerifyModelOptions opts) {
  opts.source.dir = path;
  opts.signature_only = true;
  auto sig = manifest::verify_model(bundle_json, opts);
  if (!sig) return sig.error();
  if (!sig->passed) return signature_failure(*sig);
  CCI_ASSIGN(files, manifest::OpenedModel::open(path, tree_options_for(sig->statement, opts.source.ignore)));
  return load_verified_model(files, sig->statement);
}

}  // namespace cci::infer
