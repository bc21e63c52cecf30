// Incremental re-signing: `cci-measure model DIR --incremental OLD.sig` hashes only the files
// that changed since OLD.sig was written and takes the other digests from OLD.sig.
//
// What decides "unchanged": a state file written next to each bundle records, per file, its
// name, size, device, inode, modification time and status-change time (ctime). A file is
// reused only when all six still match. mtime alone is never trusted: it can be set to any
// value by whoever can write the file (touch -d, utimensat), whereas ctime is set by the kernel
// on every write, truncate, rename or metadata change and cannot be set by user space; a
// replaced file (new inode) or a rewrite in place (new ctime) is hashed again.
//
// What is trusted: OLD.sig must verify with the key now signing (so its digests are ones this
// signer vouched for), and the state file must name OLD.sig's SHA-256 (so state and bundle
// belong together). The state is not signed: it only decides what is re-hashed, in the
// signer's own working tree. Verification (`cci-verify model`) never uses it.
//
// The statement signed is byte for byte the one a full sign writes (same resources, same
// order, same serialization); only the ECDSA signature differs, as it does between any two
// signings (randomised nonce).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/keys.h"
#include "manifest/file_tree.h"
#include "manifest/model_hash.h"

namespace cci::manifest {

struct FileIdentity {
  std::uint64_t size = 0, dev = 0, ino = 0;
  std::int64_t mtime_ns = 0, ctime_ns = 0;
  bool operator==(const FileIdentity&) const = default;
};

struct IncrementalState {
  std::string bundle_sha256;  // hex, of the bundle the state was written with
  std::string algorithm;      // resource algorithm ("sha256", "sha256-sharded-N", ...)
  std::map<std::string, FileIdentity> files;
};

// Parses a state file; kMalformed naming the field for anything else.
Result<IncrementalState> parse_incremental_state(std::string_view state);

// JSON state ("cci.measure.state.v1") for `bundle`, signed over `files` with `cfg`.
std::string incremental_state(const std::vector<TreeFile>& files, const HashConfig& cfg, ByteView bundle);

struct IncrementalPlan {
  std::map<std::string, Bytes> known;  // resource name -> digest taken from the old bundle
  std::vector<size_t> reused;          // indices into the listed files whose digests are reused
  std::uint64_t bytes_reused = 0;
  std::string note;  // why nothing was reused, when so (e.g. the hash settings changed)
};

// Checks `old_bundle` against `signer` and `state` against `old_bundle`, then lists the
// resources of `files` whose identity matches the state. Errors: kInvalidInput when OLD.sig
// does not verify with the signer's key or the state belongs to another bundle, kMalformed
// for an unreadable bundle or state (each names the field).
Result<IncrementalPlan> plan_incremental(ByteView old_bundle, std::string_view state, const crypto::PublicKey& signer,
                                         const std::vector<TreeFile>& files, const HashConfig& cfg);

// After hashing, before the bundle is written: every reused file must still have the identity
// it was listed with. A file rewritten in between was never read, so its old digest would be
// signed for new content; kInvalidInput naming the file instead.
Status check_reused_unchanged(const std::vector<TreeFile>& files, const IncrementalPlan& plan);

}  // namespace cci::manifest
