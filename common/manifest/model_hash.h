// Parallel, streaming digests of a model's files in the two OMS serializations
// (sigstore model-transparency v1.1, model_signing serialization; docs/manifest-format.md):
//   files  — one resource per file: name = path, algorithm = "sha256" | "blake2b";
//   shards — one resource per [start, end) range of `shard_size` bytes: name =
//            "path:start:end", algorithm = "<hash>-sharded-<shard_size>"; empty files have
//            no shard and are left out (reference behaviour).
// The root digest is SHA-256 over the concatenated raw resource digests in manifest order.
//
// Work is spread over `threads` workers across files and across shards. Ranges of 4 MiB or
// more are hashed through 8 MiB read-only mappings, smaller ones with 1 MiB pread()s into
// one buffer per worker, so memory use is bounded by threads x 8 MiB whatever the file
// sizes. A file whose size or mtime changes while it is hashed is an error.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/digest.h"
#include "manifest/file_tree.h"

namespace cci::manifest {

enum class Method { kFiles, kShards };
const char* method_name(Method m);  // "files" | "shards"

inline constexpr std::uint64_t kDefaultShardSize = 1000000000;  // reference default (1 GB)
inline constexpr size_t kReadChunk = 1 << 20;                   // bytes per pread() (per worker)

struct HashConfig {
  Method method = Method::kFiles;
  crypto::DigestAlg hash = crypto::DigestAlg::kSha256;  // sha256 or blake2b
  std::uint64_t shard_size = kDefaultShardSize;
  unsigned threads = 0;  // 0: one per online CPU
  // Called from worker threads with the number of bytes just hashed.
  std::function<void(std::uint64_t)> on_bytes;
  // Set by the caller to stop early (e.g. SIGINT); hashing then fails with kInternal.
  const std::atomic<bool>* cancel = nullptr;
  // Resource digests known to be current (incremental signing, manifest/incremental.h): a
  // resource named here is not read; its digest is taken from the map.
  const std::map<std::string, Bytes>* known = nullptr;
};

struct Resource {
  std::string name;
  std::string algorithm;
  Bytes digest;
};

struct ModelDigest {
  std::vector<Resource> resources;  // manifest order
  Bytes root;                       // SHA-256 over the resource digests
  std::uint64_t total_bytes = 0;
};

// The resource algorithm string for a configuration ("sha256", "sha256-sharded-4", ...).
std::string resource_algorithm(const HashConfig& cfg);

Result<ModelDigest> hash_model(const std::vector<TreeFile>& files, const HashConfig& cfg);

// SHA-256 over the raw digests of `resources` in the given order.
Bytes root_digest(const std::vector<Resource>& resources);

// Splits a shard resource name "path:start:end" (the last two fields are the range).
struct ShardName {
  std::string path;
  std::uint64_t start = 0;
  std::uint64_t end = 0;
};
Result<ShardName> parse_shard_name(const std::string& name);

}  // namespace cci::manifest
