// One file in the encrypted model format (enc_format.h), sealed or opened chunk by chunk on
// descriptors (pread/pwrite; a large sealed file is opened out of a read-only mapping of the page
// cache instead): memory is at most one chunk buffer per thread whatever the file's size, and the
// chunks of a file are spread over threads.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "base/result.h"
#include "crypto/aead.h"
#include "sealed/enc_format.h"

namespace cci::sealed {

struct ChunkWork {
  unsigned threads = 0;                             // 0: one per online CPU
  std::function<void(std::uint64_t)> on_bytes;      // plaintext bytes done (called from workers)
  const std::atomic<bool>* cancel = nullptr;        // set: stop with kInternal ("interrupted")
  // Sealed files of this many bytes or more are opened straight out of a read-only mapping of
  // the page cache, smaller ones through a pread copy of each chunk (tests set 0 to map all).
  std::uint64_t map_at_least = std::uint64_t{4} << 20;
};

// Writes the header and every sealed chunk of the h.plaintext_size bytes readable on `in_fd` to
// `out_fd` (from offset 0). The header must pass check_header.
Status seal_file(int in_fd, int out_fd, const Header& h, const crypto::Aes256Gcm& key, const ChunkWork& w);

// The header of the sealed file on `fd`, checked against its size: the file must be exactly
// h.sealed_size() bytes (a truncated or extended file fails here, before any decryption).
Result<Header> read_sealed_header(int fd, const std::string& label);

// Opens every chunk of the sealed file on `in_fd` (header `h`, from read_sealed_header) and hands
// each plaintext chunk to `sink(offset, bytes)`, possibly from several threads at once. The first
// chunk whose tag fails stops the work: kVerificationFailed naming the file and the chunk.
Status open_file(int in_fd, const Header& h, const crypto::Aes256Gcm& key, const ChunkWork& w, const std::string& label,
                 const std::function<Status(std::uint64_t, ByteView)>& sink);

// Whether `key` opens the file at all: chunk 0 alone, decrypted into a wiped buffer (milliseconds,
// whatever the file's size). kVerificationFailed as open_file would report it.
Status check_key(int in_fd, const Header& h, const crypto::Aes256Gcm& key, const std::string& label);

// The same, decrypting straight into `dest` (h.plaintext_size bytes, e.g. a memfd mapping shared
// with the workers): no intermediate copy. On failure `dest` holds partial plaintext the caller
// must wipe or drop.
Status open_file_into(int in_fd, const Header& h, const crypto::Aes256Gcm& key, const ChunkWork& w, const std::string& label,
                      std::uint8_t* dest);

}  // namespace cci::sealed
