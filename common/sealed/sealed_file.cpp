#include "sealed/sealed_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/file_io.h"
#include "base/mapped_file.h"
#include "base/sigbus.h"
#include "crypto/random.h"

namespace cci::sealed {
namespace {

// The most plaintext one chunk of the file holds: chunk 0's (only the last chunk is short). The
// per-thread buffers are sized by it, not by the chunk size: a 16 KiB file in 1 MiB chunks
// used to cost each thread 1 MiB allocated, zeroed and wiped, which for a model's many small
// files (tokenizer, configs) was more memory traffic than their contents.
size_t largest_chunk(const Header& h) { return h.plain_length(0); }

// Runs `job(index, buffer)` for every chunk on up to `threads` threads; an error stops the others
// at their next chunk. The error reported is the lowest failing chunk's: chunks are handed out in
// order and a chunk in progress is finished, so every chunk below a failing one is checked and the
// report does not depend on which thread was faster.
Status for_each_chunk(std::uint64_t chunks, size_t buffer_bytes, const ChunkWork& w,
                      const std::function<Status(std::uint64_t, Bytes&)>& job) {
  unsigned threads = w.threads ? w.threads : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<std::uint64_t>(threads, chunks));
  std::atomic<std::uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::optional<std::pair<std::uint64_t, Error>> first;  // the lowest failing chunk
  auto worker = [&] {
    Bytes buf(buffer_bytes);
    while (!failed.load()) {
      const std::uint64_t i = next.fetch_add(1);
      if (i >= chunks) break;
      Status st = (w.cancel && w.cancel->load()) ? Status(make_error(ErrorCode::kInternal, "interrupted", "cancel")) : job(i, buf);
      if (!st) {
        std::lock_guard<std::mutex> l(mu);
        if (!first || i < first->first) first = std::make_pair(i, st.error());
        failed = true;
      }
    }
    crypto::secure_clear(buf.data(), buf.size());
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (first) return first->second;
  return {};
}

}  // namespace

Status seal_file(int in_fd, int out_fd, const Header& h, const crypto::Aes256Gcm& key, const ChunkWork& w) {
  CCI_TRY(check_header(h));
  const Bytes header = encode_header(h);
  const Bytes aad = chunk_aad(header);
  CCI_TRY(pwrite_all(out_fd, header, 0));
  const std::string label = h.name;
  const size_t most = largest_chunk(h);
  return for_each_chunk(h.chunks(), most * 2 + kTagBytes, w, [&](std::uint64_t i, Bytes& buf) -> Status {
    const std::uint32_t n = h.plain_length(i);
    std::uint8_t* plain = buf.data();
    std::uint8_t* sealed = buf.data() + most;
    CCI_TRY(pread_all(in_fd, plain, n, h.plain_offset(i), label));
    const auto nonce = chunk_nonce(h, i);
    CCI_TRY(key.seal(nonce, aad, ByteView(plain, n), sealed));
    CCI_TRY(pwrite_all(out_fd, ByteView(sealed, size_t{n} + kTagBytes), h.sealed_offset(i)));
    if (w.on_bytes) w.on_bytes(n);
    return {};
  });
}

Result<Header> read_sealed_header(int fd, const std::string& label) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(ErrorCode::kIo, label + ": " + errno_text(errno), "stat");
  if (!S_ISREG(st.st_mode)) return make_error(ErrorCode::kInvalidInput, label + " is not a regular file", "file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  Bytes head(std::min<std::uint64_t>(size, kMaxHeaderBytes));
  CCI_TRY(pread_all(fd, head.data(), head.size(), 0, label));
  auto h = parse_header(head);
  if (!h) return make_error(h.error().code, label + ": " + h.error().message, h.error().field);
  if (size != h->sealed_size()) {
    return make_error(ErrorCode::kMalformed,
                      label + ": " + std::to_string(size) + " bytes, but its header describes " + std::to_string(h->sealed_size()) +
                          " (" + std::to_string(h->plaintext_size) + " bytes of plaintext in " + std::to_string(h->chunks()) +
                          " chunks): the file was truncated or extended",
                      "size");
  }
  return h;
}

namespace {

// Large sealed files (ChunkWork::map_at_least) are decrypted straight out of a read-only mapping
// of the page cache instead of a pread copy of each chunk: one pass over memory less. Measured
// outside cci on cci-bench seal's shape (1 GiB in 1 MiB chunks, 2 threads, Intel Xeon with VAES,
// files in the page cache): 8.4-8.8 GB/s out of the mapping against 5.6-6.0 GB/s through pread
// (7.3 GB/s mapped when the page cache still held the small folios of the writes). A file that
// shrinks under the mapping raises SIGBUS, which becomes the same I/O error as a short pread.
// Bytes changed under the mapping while a chunk is decrypted (by a writer inside the VM) can at
// worst fail its tag or yield plaintext that the check of every plaintext byte afterwards
// refuses (decrypt_model against the headers' model digest; cci-run serve against the signed
// model, after unseal_into_memory).
std::shared_ptr<const MappedFile> map_sealed(int fd, const Header& h, std::uint64_t at_least, const std::string& label) {
  if (h.sealed_size() < at_least) return nullptr;
  auto m = MappedFile::map_fd(fd, label);
  // Not mappable, or no longer the size its header was checked against: pread reads it instead
  // (and reports a file that ended early).
  if (!m || (*m)->bytes().size() != h.sealed_size()) return nullptr;
  return *m;
}

// Opens every chunk: `plain_at(i, buffer)` says where chunk i's plaintext goes (in the worker's
// buffer, or straight into the caller's memory), `done(i, plain)` is told after it verified.
Status open_chunks(int in_fd, const Header& h, const crypto::Aes256Gcm& key, const ChunkWork& w, const std::string& label,
                   const std::function<std::uint8_t*(std::uint64_t, Bytes&)>& plain_at,
                   const std::function<Status(std::uint64_t, ByteView)>& done, size_t buffer_bytes, std::uint64_t chunk_count) {
  const Bytes header = encode_header(h);
  const Bytes aad = chunk_aad(header);
  const auto mapped = map_sealed(in_fd, h, w.map_at_least, label);
  return for_each_chunk(std::min(chunk_count, h.chunks()), buffer_bytes, w, [&](std::uint64_t i, Bytes& buf) -> Status {
    const std::uint32_t n = h.plain_length(i);
    std::uint8_t* plain = plain_at(i, buf);
    const auto nonce = chunk_nonce(h, i);
    Status st;
    if (mapped) {
      crypto::Aes256Gcm::Context ctx;
      const ByteView sealed = mapped->bytes().subspan(h.sealed_offset(i), size_t{n} + kTagBytes);
      if (!run_catching_sigbus([&] { st = key.open(ctx, nonce, aad, sealed, plain); })) {
        return make_error(ErrorCode::kIo, label + ": file ended early (it shrank while being decrypted, at chunk " + std::to_string(i) + ")", "read");
      }
    } else {
      std::uint8_t* sealed = buf.data();
      CCI_TRY(pread_all(in_fd, sealed, size_t{n} + kTagBytes, h.sealed_offset(i), label));
      st = key.open(nonce, aad, ByteView(sealed, size_t{n} + kTagBytes), plain);
    }
    if (!st) {
      if (st.error().code != ErrorCode::kVerificationFailed) return st;
      return make_error(ErrorCode::kVerificationFailed,
                        label + ": chunk " + std::to_string(i) + " of " + std::to_string(h.chunks()) +
                            " does not decrypt with this key (wrong key, or the chunk was altered, reordered or moved from another file)",
                        "chunk");
    }
    CCI_TRY(done(i, ByteView(plain, n)));
    if (w.on_bytes) w.on_bytes(n);
    return {};
  });
}

}  // namespace

Status check_key(int in_fd, const Header& h, const crypto::Aes256Gcm& key, const std::string& label) {
  ChunkWork one;
  one.threads = 1;
  // Chunk 0 only, with the same header bytes (AAD) and nonce as open_file; the buffer is wiped.
  const size_t most = largest_chunk(h);
  return open_chunks(
      in_fd, h, key, one, label, [most](std::uint64_t, Bytes& buf) { return buf.data() + most + kTagBytes; },
      [](std::uint64_t i, ByteView) -> Status {
        if (i != 0) return make_error(ErrorCode::kInternal, "check_key: past chunk 0", "chunk");
        return {};
      },
      most * 2 + kTagBytes, 1);
}

Status open_file(int in_fd, const Header& h, const crypto::Aes256Gcm& key, const ChunkWork& w, const std::string& label,
                 const std::function<Status(std::uint64_t, ByteView)>& sink) {
  const size_t most = largest_chunk(h);
  return open_chunks(
      in_fd, h, key, w, label, [most](std::uint64_t, Bytes& buf) { return buf.data() + most + kTagBytes; },
      [&h, &sink](std::uint64_t i, ByteView plain) { return sink(h.plain_offset(i), plain); }, most * 2 + kTagBytes, h.chunks());
}

Status open_file_into(int in_fd, const Header& h, const crypto::Aes256Gcm& key, const ChunkWork& w, const std::string& label,
                      std::uint8_t* dest) {
  return open_chunks(
      in_fd, h, key, w, label, [&h, dest](std::uint64_t i, Bytes&) { return dest + h.plain_offset(i); },
      [](std::uint64_t, ByteView) -> Status { return {}; }, largest_chunk(h) + kTagBytes, h.chunks());
}

}  // namespace cci::sealed
