#include "launch/verity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <vector>

#include "base/byte_reader.h"
#include "base/file_io.h"
#include "base/unique_fd.h"

namespace cci::launch {
namespace {

constexpr size_t kMaxSalt = 256;
constexpr size_t kSuperblockSize = 512;
constexpr size_t kChunk = 1 << 20;

bool is_pow2(std::uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }
size_t pow2_up(size_t v) {
  size_t p = 1;
  while (p < v) p <<= 1;
  return p;
}
size_t pow2_down(size_t v) {
  size_t p = 1;
  while (p * 2 <= v) p <<= 1;
  return p;
}

Status check_params(const VerityParams& p) {
  if (p.hash != crypto::DigestAlg::kSha256 && p.hash != crypto::DigestAlg::kSha512) {
    return make_error(ErrorCode::kUsage, "dm-verity hash must be sha256 or sha512", "hash");
  }
  for (auto [v, name] : {std::pair{p.data_block_size, "data block size"}, std::pair{p.hash_block_size, "hash block size"}}) {
    if (!is_pow2(v) || v < 512 || v > (1u << 20)) {
      return make_error(ErrorCode::kUsage, std::string(name) + " " + std::to_string(v) + " must be a power of two between 512 and 1048576",
                        name);
    }
  }
  if (p.format > 1) return make_error(ErrorCode::kUsage, "dm-verity format must be 0 or 1", "format");
  if (p.salt.size() > kMaxSalt) return make_error(ErrorCode::kUsage, "dm-verity salt is at most 256 bytes", "salt");
  return {};
}

// Reads block ranges of the data image (positional reads, safe from many threads).
struct FileBlocks {
  int fd;
  size_t block;
  Status read(std::uint64_t first, size_t count, Bytes& buf) const {
    buf.resize(count * block);
    size_t done = 0;
    while (done < buf.size()) {
      ssize_t n = ::pread(fd, buf.data() + done, buf.size() - done, static_cast<off_t>(first * block + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return make_error(ErrorCode::kIo, n < 0 ? "cannot read the image: " + errno_text(errno) : "the image shrank while it was hashed",
                          "image");
      }
      done += static_cast<size_t>(n);
    }
    return {};
  }
};

// Fills one tree level: the digest of source block i goes to slot i of `level`.
class LevelHasher {
 public:
  // `slot`: bytes per digest in a hash block; `per_block`: digests per hash block.
  LevelHasher(const VerityParams& p, size_t slot, size_t per_block)
      : p_(p), slot_(slot), per_block_(per_block), dsize_(crypto::digest_size(p.hash)) {}

  // `read(first, count, buf)` supplies source blocks; returns the level's bytes.
  template <class Reader>
  Result<Bytes> run(std::uint64_t blocks, size_t block_size, const Reader& read, bool report) const {
    const size_t per_block = per_block_;
    const std::uint64_t out_blocks = (blocks + per_block - 1) / per_block;
    Bytes level(out_blocks * p_.hash_block_size, 0);
    const size_t batch = std::max<size_t>(1, kChunk / block_size);
    unsigned threads = p_.threads ? p_.threads : std::max(1u, std::thread::hardware_concurrency());
    threads = static_cast<unsigned>(std::min<std::uint64_t>(threads, (blocks + batch - 1) / batch));
    std::atomic<std::uint64_t> next{0};
    std::vector<Status> status(threads);
    auto work = [&](unsigned t) {
      Bytes buf, digests;
      for (;;) {
        if (p_.cancel && p_.cancel->load()) {
          status[t] = make_error(ErrorCode::kInternal, "interrupted");
          return;
        }
        std::uint64_t first = next.fetch_add(batch);
        if (first >= blocks) return;
        size_t count = static_cast<size_t>(std::min<std::uint64_t>(batch, blocks - first));
        auto st = read(first, count, buf);
        if (!st) {
          status[t] = st;
          return;
        }
        digests.resize(count * dsize_);
        ByteView salt(p_.salt);
        crypto::digest_blocks(p_.hash, p_.format == 1 ? salt : ByteView{}, p_.format == 0 ? salt : ByteView{}, buf,
                              block_size, digests.data(), dsize_);
        for (size_t i = 0; i < count; ++i) {
          std::uint64_t idx = first + i;
          size_t at = static_cast<size_t>((idx / per_block) * p_.hash_block_size + (idx % per_block) * slot_);
          std::copy_n(digests.data() + i * dsize_, dsize_, level.data() + at);
        }
        if (report && p_.on_bytes) p_.on_bytes(count * block_size);
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work, t);
    work(0);
    for (auto& th : pool) th.join();
    for (auto& s : status) {
      if (!s) return s.error();
    }
    return level;
  }

 private:
  const VerityParams& p_;
  size_t slot_;
  size_t per_block_;
  size_t dsize_;
};

Bytes superblock(const VerityParams& p, std::uint64_t data_blocks) {
  // struct verity_sb (cryptsetup lib/verity/verity.c), little-endian, 512 bytes.
  Bytes sb(kSuperblockSize, 0);
  std::copy_n("verity\0\0", 8, sb.begin());
  put_le(sb, 8, 1, 4);         // superblock version
  put_le(sb, 12, p.format, 4); // hash type
  std::copy(p.uuid.begin(), p.uuid.end(), sb.begin() + 16);
  std::string alg = crypto::digest_name(p.hash);
  std::copy(alg.begin(), alg.end(), sb.begin() + 32);
  put_le(sb, 64, p.data_block_size, 4);
  put_le(sb, 68, p.hash_block_size, 4);
  put_le(sb, 72, data_blocks, 8);
  put_le(sb, 80, p.salt.size(), 2);
  std::copy(p.salt.begin(), p.salt.end(), sb.begin() + 88);
  return sb;
}

}  // namespace

Result<VerityResult> verity_format(const std::string& image, const VerityParams& p, const std::optional<std::string>& hash_file) {
  CCI_TRY(check_params(p));
  UniqueFd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return make_error(ErrorCode::kIo, "cannot open " + image + ": " + errno_text(errno), "image");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return make_error(ErrorCode::kInvalidInput, image + " is not a regular file", "image");
  }
  const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0 || size % p.data_block_size != 0) {
    return make_error(ErrorCode::kInvalidInput,
                      image + " has " + std::to_string(size) + " bytes, not a non-zero multiple of the data block size " +
                          std::to_string(p.data_block_size),
                      "image");
  }
  const size_t dsize = crypto::digest_size(p.hash);
  const size_t slot = p.format == 1 ? pow2_up(dsize) : dsize;
  if (slot > p.hash_block_size) return make_error(ErrorCode::kUsage, "the hash block is smaller than one digest", "hash block size");
  // Per hash block: the largest power of two of slots that fit (cryptsetup get_bits_down).
  LevelHasher hasher(p, slot, pow2_down(p.hash_block_size / slot));

  VerityResult out;
  out.data_blocks = size / p.data_block_size;
  std::vector<Bytes> levels;  // bottom-up
  FileBlocks file{fd.get(), p.data_block_size};
  if (out.data_blocks > 1) {
    auto level = hasher.run(out.data_blocks, p.data_block_size,
                            [&file](std::uint64_t first, size_t count, Bytes& buf) { return file.read(first, count, buf); }, true);
    if (!level) return level.error();
    levels.push_back(std::move(*level));
    while (levels.back().size() > p.hash_block_size) {
      const Bytes& below = levels.back();
      auto mem = [&below, &p](std::uint64_t first, size_t count, Bytes& buf) -> Status {
        auto from = below.begin() + static_cast<std::ptrdiff_t>(first * p.hash_block_size);
        buf.assign(from, from + static_cast<std::ptrdiff_t>(count * p.hash_block_size));
        return {};
      };
      auto next = hasher.run(below.size() / p.hash_block_size, p.hash_block_size, mem, false);
      if (!next) return next.error();
      levels.push_back(std::move(*next));
    }
  }
  // The root hashes the single top block (or the single data block when there is no tree).
  Bytes top;
  if (levels.empty()) {
    auto st2 = file.read(0, 1, top);
    if (!st2) return st2.error();
  } else {
    top = levels.back();
  }
  crypto::Hasher h(p.hash);
  if (p.format == 1) h.update(p.salt);
  h.update(top);
  if (p.format == 0) h.update(p.salt);
  out.root = h.finish();
  out.levels = static_cast<unsigned>(levels.size());
  for (const auto& l : levels) out.hash_blocks += l.size() / p.hash_block_size;

  if (hash_file) {
    Bytes dev;
    if (p.superblock) {
      dev = superblock(p, out.data_blocks);
      dev.resize(std::max<size_t>(p.hash_block_size, kSuperblockSize), 0);
    }
    for (auto it = levels.rbegin(); it != levels.rend(); ++it) dev.insert(dev.end(), it->begin(), it->end());
    CCI_TRY(write_file_atomic(*hash_file, dev, 0644));
  }
  return out;
}

}  // namespace cci::launch
