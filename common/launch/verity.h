// dm-verity hash trees, identical to `veritysetup format` (cryptsetup lib/verity;
// kernel Documentation/admin-guide/device-mapper/verity.rst):
//   level 0 holds H(salt ‖ data block) for every data block (format 0: H(block ‖ salt)),
//   each digest in a slot of the next power of two (format 1) and packed into zero-padded
//   hash blocks; every higher level hashes the blocks of the level below the same way,
//   until one block remains; root = H(salt ‖ that block) (for a one-block image: of the
//   data block itself). The hash file holds the 512-byte superblock (padded to a hash
//   block) and then the levels, top level first.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/result.h"
#include "crypto/digest.h"

namespace cci::launch {

struct VerityParams {
  crypto::DigestAlg hash = crypto::DigestAlg::kSha256;  // sha256 or sha512
  std::uint32_t data_block_size = 4096;
  std::uint32_t hash_block_size = 4096;
  std::uint32_t format = 1;  // hash type: 1 (normal) or 0 (Chrome OS)
  Bytes salt;                // at most 256 bytes; empty is allowed
  std::array<std::uint8_t, 16> uuid{};  // written into the superblock
  bool superblock = true;
  unsigned threads = 0;  // 0: one per online CPU
  std::function<void(std::uint64_t)> on_bytes;  // data bytes hashed so far (any thread)
  const std::atomic<bool>* cancel = nullptr;
};

struct VerityResult {
  Bytes root;
  std::uint64_t data_blocks = 0;
  std::uint64_t hash_blocks = 0;  // tree blocks, without the superblock
  unsigned levels = 0;
};

// Hashes `image` (a regular file whose size is a non-zero multiple of the data block size)
// and, when `hash_file` is given, writes the hash device image to it atomically.
Result<VerityResult> verity_format(const std::string& image, const VerityParams& params,
                                   const std::optional<std::string>& hash_file = std::nullopt);

}  // namespace cci::launch
