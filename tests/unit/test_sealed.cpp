// The encrypted model format (common/sealed): the published test vector (docs/encrypted-model.md,
// made with an independent Python implementation written from that page), the header's fields
// checked one by one, and every attack on a sealed file refused: wrong key, a flipped byte, chunks
// swapped, dropped, truncated or moved from another file, a renamed or foreign file in a model.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "base/file_io.h"
#include "base/hex.h"
#include "base/unique_fd.h"
#include "crypto/digest.h"
#include "manifest/encrypted_model.h"
#include "sealed/key_file.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::sealed;
using cci::manifest::EncryptOptions;
using cci::manifest::DecryptOptions;
using cci::manifest::encrypt_model;
using cci::manifest::decrypt_model;
using cci::manifest::SealedFiles;
using cci::manifest::UnsealHow;
using cci::manifest::unseal_into_memory;
using cci::manifest::encryption_record;
namespace fs = std::filesystem;

namespace {

crypto::Aes256Gcm test_key(std::uint8_t first = 0) {
  Bytes k(32);
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(first + i);
  auto key = crypto::Aes256Gcm::create(k);
  REQUIRE(key);
  return std::move(*key);
}

Header vector_header(const std::string& name, const std::string& key_id, std::uint32_t chunk, std::uint64_t size) {
  Header h;
  h.chunk_size = chunk;
  h.plaintext_size = size;
  const Bytes prefix = *from_hex("a0a1a2a3a4a5a6", "prefix");
  std::copy(prefix.begin(), prefix.end(), h.nonce_prefix.begin());
  const Bytes digest = crypto::digest(crypto::DigestAlg::kSha256, as_bytes(std::string("model")));
  std::copy(digest.begin(), digest.end(), h.model_digest.begin());
  h.name = name;
  h.key_id = key_id;
  return h;
}

struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "cci-sealed-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

void write(const fs::path& p, ByteView data) { REQUIRE(write_file_atomic(p.string(), data, 0644)); }
Bytes slurp(const fs::path& p) { return *read_file(p.string(), 64u << 20); }

// Seals `plain` as file `h` into `out`, through the descriptor API.
void seal_to(const fs::path& out, const Header& h, ByteView plain, const crypto::Aes256Gcm& key, const fs::path& tmp) {
  write(tmp, plain);
  UniqueFd in(::open(tmp.c_str(), O_RDONLY));
  UniqueFd o(::open(out.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0644));
  REQUIRE(seal_file(in.get(), o.get(), h, key, {}));
}

// Opens the sealed file at `p` into memory; the error when it is refused.
Result<Bytes> open_sealed(const fs::path& p, const crypto::Aes256Gcm& key, const std::string& name, const ChunkWork& w = {}) {
  UniqueFd fd(::open(p.c_str(), O_RDONLY));
  CCI_ASSIGN(h, read_sealed_header(fd.get(), p.string()));
  if (h.name != name) return make_error(ErrorCode::kVerificationFailed, "name", "name");
  Bytes out(h.plaintext_size);
  CCI_TRY(open_file(fd.get(), h, key, w, p.string(), [&out](std::uint64_t off, ByteView b) -> Status {
    std::copy(b.begin(), b.end(), out.begin() + static_cast<std::ptrdiff_t>(off));
    return {};
  }));
  return out;
}

// The two ways a sealed file is read: a pread copy of each chunk (files under 4 MiB) and straight
// out of a read-only mapping (larger ones; map_at_least 0 maps even these small test files).
ChunkWork read_by(bool mapped, unsigned threads = 0) {
  ChunkWork w;
  w.threads = threads;
  w.map_at_least = mapped ? 0 : UINT64_MAX;
  return w;
}

// Options for encrypting `model` into `out` in 64 KiB chunks (several chunks for a small file).
EncryptOptions encrypt_options(const fs::path& model, const fs::path& out) {
  EncryptOptions eo;
  eo.model_dir = model.string();
  eo.out_dir = out.string();
  eo.key_id = "kbs:///default/m/dek";
  eo.chunk_size = 65536;
  return eo;
}

}  // namespace

TEST_CASE("the published vector: one chunk, byte for byte, and the multi-chunk vector's digest") {
  TempDir d;
  const std::string text = "hello, sealed world\n";
  seal_to(d.path / "greeting.enc", vector_header("greeting.txt", "file:///keys/dek.bin", 4096, text.size()), as_bytes(text), test_key(),
          d.path / "plain");
  CHECK(to_hex(slurp(d.path / "greeting.enc")) ==
        "4343492d454e43316c0000000100000000100000000000001400000000000000a0a1a2a3a4a5a6009372c470eeadd5ecd9c3c74c2b3cb633f8e2f2fad7"
        "99250a0f70d652b6b825e40c0014006772656574696e672e74787466696c653a2f2f2f6b6579732f64656b2e62696e1f042572d72ac0b36604b44a"
        "abaecc3775674fe33dffdfa025d445270a004c4b7fac190f");
  // 10000 bytes, (7i + 3) mod 256, in three 4096-byte chunks (the last one short and flagged).
  Bytes big(10000);
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>((i * 7 + 3) & 0xff);
  seal_to(d.path / "part.enc", vector_header("weights/part.bin", "kbs:///default/model/dek", 4096, big.size()), big, test_key(), d.path / "plain");
  const Bytes sealed = slurp(d.path / "part.enc");
  CHECK(sealed.size() == 10164);
  CHECK(to_hex(crypto::digest(crypto::DigestAlg::kSha256, sealed)) == "b7eed9d44e3952f6e264642c3fb3a13c6819a2eb6c1c17cec869ff3542fd81a4");
  auto back = open_sealed(d.path / "part.enc", test_key(), "weights/part.bin");
  REQUIRE(back);
  CHECK(*back == big);
  // Straight into the caller's memory (as the sealed server will, into a shared mapping).
  UniqueFd fd(::open((d.path / "part.enc").c_str(), O_RDONLY));
  auto h = read_sealed_header(fd.get(), "part.enc");
  REQUIRE(h);
  Bytes into(h->plaintext_size);
  for (const bool mapped : {false, true}) {
    CAPTURE(mapped);
    std::fill(into.begin(), into.end(), std::uint8_t{0});
    REQUIRE(open_file_into(fd.get(), *h, test_key(), read_by(mapped, 2), "part.enc", into.data()));
    CHECK(into == big);
    CHECK_FALSE(open_file_into(fd.get(), *h, test_key(5), read_by(mapped), "part.enc", into.data()));
    auto back_mapped = open_sealed(d.path / "part.enc", test_key(), "weights/part.bin", read_by(mapped));
    REQUIRE(back_mapped);
    CHECK(*back_mapped == big);
  }
  // It decrypts in place: a flipped ciphertext byte or tag byte of the last (short) chunk is
  // refused naming the chunk, whatever the threads.
  for (const std::uint64_t at : {h->sealed_offset(2) + 5, h->sealed_offset(2) + h->plain_length(2) + 3}) {
    Bytes bad = sealed;
    bad[at] ^= 0x01;
    const auto bad_path = d.path / "bad.enc";
    write(bad_path, bad);
    UniqueFd bfd(::open(bad_path.c_str(), O_RDONLY));
    for (const bool mapped : {false, true}) {
      for (unsigned threads : {1u, 2u}) {
        CAPTURE(mapped);
        auto st = open_file_into(bfd.get(), *h, test_key(), read_by(mapped, threads), "bad.enc", into.data());
        REQUIRE_FALSE(st);
        CHECK(st.error().code == ErrorCode::kVerificationFailed);
        CHECK(st.error().message.find("chunk 2 of 3") != std::string::npos);
      }
    }
  }
}

TEST_CASE("header fields are checked one by one, each error naming its field") {
  Header h = vector_header("a/b.bin", "kbs:///r/t/k", 4096, 5);
  const Bytes good = encode_header(h);
  REQUIRE(parse_header(good));
  CHECK(parse_header(good)->name == "a/b.bin");
  auto broken = [&](size_t at, std::uint8_t value, const std::string& field) {
    Bytes b = good;
    b[at] = value;
    auto r = parse_header(b);
    CAPTURE(field);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == field);
  };
  broken(0, 'X', "magic");
  broken(12, 2, "version");
  broken(16, 1, "chunk_size");   // 4097: not a power of two
  broken(18, 0x10, "chunk_size");  // 1 MiB + 4096
  broken(20, 1, "flags");
  broken(39, 1, "reserved");
  broken(8, 0x7f, "header_size");
  broken(76 + 1, '\0', "name");    // NUL in the name
  for (const char* name : {"", "/abs", "a//b", "../x", "a/./b", "cci-encryption.json"}) {
    Header bad = h;
    bad.name = name;
    CAPTURE(std::string(name));
    CHECK_FALSE(check_header(bad));
  }
  Header bad_key = h;
  bad_key.key_id = "has space";
  CHECK(check_header(bad_key).error().field == "key_id");
  for (const std::string& id : {std::string(), std::string(kMaxKeyIdBytes + 1, 'k')}) {
    bad_key.key_id = id;
    CHECK(check_header(bad_key).error().field == "key_id");
  }
  Header long_name = h;
  long_name.name = std::string(kMaxNameBytes + 1, 'n');
  CHECK(check_header(long_name).error().field == "name");
  // The chunk index is 32 bits of the nonce: a file that needs 2^32 chunks would reuse nonces.
  Header huge = h;
  huge.plaintext_size = std::uint64_t{4096} << 32;
  REQUIRE(huge.chunks() == std::uint64_t{1} << 32);
  CHECK(check_header(huge).error().field == "plaintext_size");
  huge.plaintext_size -= 4096;
  CHECK(check_header(huge));
  CHECK_FALSE(parse_header(ByteView(good.data(), good.size() - 1)));  // the key id cut short
  // Empty files have one (empty, final) chunk.
  Header empty = h;
  empty.plaintext_size = 0;
  CHECK(empty.chunks() == 1);
  CHECK(empty.sealed_size() == empty.header_size() + 16);
  CHECK(chunk_nonce(empty, 0)[11] == 1);
}

TEST_CASE("every attack on a sealed file is refused, naming the chunk or the size") {
  TempDir d;
  Bytes plain(3 * 4096 + 100);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<std::uint8_t>(i * 31);
  const Header h = vector_header("w.bin", "kbs:///r/t/k", 4096, plain.size());
  const fs::path f = d.path / "w.enc";
  seal_to(f, h, plain, test_key(), d.path / "plain");
  REQUIRE(open_sealed(f, test_key(), "w.bin"));
  const Bytes sealed = slurp(f);
  const size_t hs = h.header_size(), cs = 4096 + 16;

  auto refused = [&](const Bytes& bytes, const crypto::Aes256Gcm& key, const std::string& want) {
    write(d.path / "t.enc", bytes);
    for (const bool mapped : {false, true}) {
      auto r = open_sealed(d.path / "t.enc", key, "w.bin", read_by(mapped));
      CAPTURE(want);
      CAPTURE(mapped);
      REQUIRE_FALSE(r);
      CHECK(r.error().message.find(want) != std::string::npos);
    }
  };
  refused(sealed, test_key(1), "chunk 0 of 4 does not decrypt");  // wrong key
  {
    // check_key: chunk 0 alone says whether a key opens the file (a sealed server's quick refusal).
    UniqueFd fd(::open(f.c_str(), O_RDONLY));
    auto hh = read_sealed_header(fd.get(), f.string());
    REQUIRE(hh);
    CHECK(check_key(fd.get(), *hh, test_key(), "w.bin"));
    auto wrong = check_key(fd.get(), *hh, test_key(1), "w.bin");
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == ErrorCode::kVerificationFailed);
    CHECK(wrong.error().message.find("chunk 0 of 4 does not decrypt") != std::string::npos);
  }
  Bytes flip = sealed;
  flip[hs + cs + 10] ^= 1;
  refused(flip, test_key(), "chunk 1 of 4");
  Bytes swap = sealed;  // chunks 0 and 1 exchanged
  std::swap_ranges(swap.begin() + static_cast<std::ptrdiff_t>(hs), swap.begin() + static_cast<std::ptrdiff_t>(hs + cs),
                   swap.begin() + static_cast<std::ptrdiff_t>(hs + cs));
  refused(swap, test_key(), "chunk 0 of 4");
  Bytes truncated(sealed.begin(), sealed.end() - 1);
  refused(truncated, test_key(), "truncated or extended");
  // Truncated at a chunk boundary with the header's size lowered to match: the last chunk kept
  // is not flagged final, so it fails.
  Header shorter = h;
  shorter.plaintext_size = 3 * 4096;
  Bytes cut = encode_header(shorter);
  cut.insert(cut.end(), sealed.begin() + static_cast<std::ptrdiff_t>(hs), sealed.begin() + static_cast<std::ptrdiff_t>(hs + 3 * cs));
  write(d.path / "t.enc", cut);
  for (const bool mapped : {false, true}) {
    CAPTURE(mapped);
    REQUIRE_FALSE(open_sealed(d.path / "t.enc", test_key(), "w.bin", read_by(mapped)));  // the header changed, so even chunk 0's AAD differs
  }
  // A chunk moved in from another file (same key, same position, another name and nonce prefix).
  Header other = vector_header("v.bin", "kbs:///r/t/k", 4096, plain.size());
  other.nonce_prefix[0] ^= 0xff;
  seal_to(d.path / "v.enc", other, plain, test_key(), d.path / "plain");
  const Bytes foreign = slurp(d.path / "v.enc");
  Bytes moved = sealed;
  std::copy(foreign.begin() + static_cast<std::ptrdiff_t>(other.header_size() + cs),
            foreign.begin() + static_cast<std::ptrdiff_t>(other.header_size() + 2 * cs), moved.begin() + static_cast<std::ptrdiff_t>(hs + cs));
  refused(moved, test_key(), "chunk 1 of 4");
}

TEST_CASE("a sealed file that shrinks while it is decrypted is an I/O error naming it, read by pread or through a mapping") {
  TempDir d;
  Bytes plain(6 * 4096);
  for (size_t i = 0; i < plain.size(); ++i) plain[i] = static_cast<std::uint8_t>(i * 13 + 1);
  const Header h = vector_header("s.bin", "kbs:///r/t/k", 4096, plain.size());
  for (const bool mapped : {false, true}) {
    CAPTURE(mapped);
    const fs::path f = d.path / "s.enc";
    seal_to(f, h, plain, test_key(), d.path / "plain");
    UniqueFd fd(::open(f.c_str(), O_RDONLY));
    auto hh = read_sealed_header(fd.get(), "s.enc");
    REQUIRE(hh);
    // One thread, chunks in order: after chunk 0, another writer cuts the file to its header and
    // one chunk. Through a mapping, the next chunk's pages are gone (SIGBUS); through pread, the
    // read comes back short.
    UniqueFd writer(::open(f.c_str(), O_WRONLY));
    REQUIRE(writer.valid());
    ChunkWork w = read_by(mapped, 1);
    bool cut = false;
    w.on_bytes = [&](std::uint64_t) {
      if (!cut) REQUIRE(::ftruncate(writer.get(), static_cast<off_t>(hh->sealed_offset(1))) == 0);
      cut = true;
    };
    Bytes into(plain.size());
    auto st = open_file_into(fd.get(), *hh, test_key(), w, "s.enc", into.data());
    REQUIRE_FALSE(st);
    CHECK(st.error().code == ErrorCode::kIo);
    CHECK(st.error().message.find("s.enc: file ended early") != std::string::npos);
    // The same file, whole again, opens (nothing was left behind by the jump out of the decryption).
    seal_to(f, h, plain, test_key(), d.path / "plain");
    auto back = open_sealed(f, test_key(), "s.bin", read_by(mapped, 2));
    REQUIRE(back);
    CHECK(*back == plain);
  }
}

TEST_CASE("a model directory: encrypted and decrypted back, a renamed, dropped or foreign file refused, nothing left behind") {
  TempDir d;
  const fs::path model = d.path / "model";
  fs::create_directories(model / "sub");
  Bytes weights(300000);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<std::uint8_t>(i ^ (i >> 8));
  write(model / "weights.bin", weights);
  write(model / "config.json", as_bytes(std::string("{\"dim\": 8}")));
  write(model / "sub" / "tokenizer.model", as_bytes(std::string("tok")));
  EncryptOptions eo = encrypt_options(model, d.path / "enc");
  auto m = encrypt_model(eo, test_key());
  REQUIRE(m);
  CHECK(m->files.size() == 3);
  CHECK(fs::exists(d.path / "enc" / kIndexName));
  DecryptOptions dopt;
  dopt.enc_dir = (d.path / "enc").string();
  dopt.out_dir = (d.path / "plain").string();
  auto back = decrypt_model(dopt, test_key());
  REQUIRE(back);
  CHECK(slurp(d.path / "plain" / "weights.bin") == weights);
  CHECK(back->model_digest == m->model_digest);
  CHECK((fs::status(d.path / "plain").permissions() & fs::perms::others_read) == fs::perms::none);

  auto refused = [&](const std::string& want) {
    dopt.out_dir = (d.path / "again").string();
    auto r = decrypt_model(dopt, test_key());
    CAPTURE(want);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find(want) != std::string::npos);
    CHECK_FALSE(fs::exists(d.path / "again"));  // nothing half-written
    for (const auto& e : fs::directory_iterator(d.path)) CHECK(e.path().filename().string().find(".partial-") == std::string::npos);
  };
  auto wrong = decrypt_model({dopt.enc_dir, (d.path / "w").string(), {}}, test_key(9));
  REQUIRE_FALSE(wrong);
  CHECK_FALSE(fs::exists(d.path / "w"));
  fs::rename(d.path / "enc" / "config.json", d.path / "enc" / "config2.json");
  refused("holds the encrypted file 'config.json'");
  fs::rename(d.path / "enc" / "config2.json", d.path / "enc" / "config.json");
  fs::rename(d.path / "enc" / "config.json", d.path / "config.json.bak");
  refused("a file was removed, added or taken from another model");
  fs::rename(d.path / "config.json.bak", d.path / "enc" / "config.json");
  // The same name from another model under the same key.
  write(model / "config.json", as_bytes(std::string("{\"dim\": 9}")));
  eo.out_dir = (d.path / "enc2").string();
  REQUIRE(encrypt_model(eo, test_key()));
  fs::copy_file(d.path / "enc2" / "config.json", d.path / "enc" / "config.json", fs::copy_options::overwrite_existing);
  refused("belongs to another encrypted model");
  // An existing output directory is never written into.
  eo.out_dir = (d.path / "enc").string();
  auto exists = encrypt_model(eo, test_key());
  REQUIRE_FALSE(exists);
  CHECK(exists.error().message.find("already exists") != std::string::npos);
}

TEST_CASE("a sealed model into memfds, by writes or through a mapping: the same sealed bytes, the same plaintext, a wrong key or chunk refused") {
  TempDir d;
  const fs::path model = d.path / "model";
  fs::create_directories(model);
  Bytes weights(300000);  // 5 chunks of 64 KiB, the last one short
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<std::uint8_t>((i * 31) ^ (i >> 9));
  write(model / "weights.bin", weights);
  write(model / "config.json", as_bytes(std::string("{\"dim\": 8}")));
  write(model / "empty.txt", Bytes{});
  EncryptOptions eo = encrypt_options(model, d.path / "enc");
  auto m = encrypt_model(eo, test_key());
  REQUIRE(m);
  auto sealed_files = [&] {
    SealedFiles sf;
    sf.where = eo.out_dir;
    for (const auto& f : m->files) sf.files.push_back({f.name, UniqueFd(::open((d.path / "enc" / f.name).c_str(), O_RDONLY | O_CLOEXEC))});
    return sf;
  };
  auto contents = [](int fd) {
    struct stat st {};
    REQUIRE(::fstat(fd, &st) == 0);
    Bytes b(static_cast<size_t>(st.st_size));
    REQUIRE(::pread(fd, b.data(), b.size(), 0) == static_cast<ssize_t>(b.size()));
    return b;
  };
  for (const auto how : {UnsealHow::kWrite, UnsealHow::kMap, UnsealHow::kAuto}) {
    CAPTURE(static_cast<int>(how));
    for (unsigned threads : {1u, 2u}) {
      auto plain = unseal_into_memory(sealed_files(), test_key(), {threads, {}, nullptr}, how);
      REQUIRE(plain);
      REQUIRE(plain->size() == 3);
      for (const auto& f : *plain) {
        CHECK(contents(f.fd.get()) == slurp(model / f.name));
        // Sealed: no more writes, no growing or shrinking.
        CHECK(::fcntl(f.fd.get(), F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL));
        CHECK(::pwrite(f.fd.get(), "x", 1, 0) == -1);
      }
    }
    auto wrong = unseal_into_memory(sealed_files(), test_key(7), {}, how);
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().message.find("the key does not open this model") != std::string::npos);
  }
  // A sealed file replaced after the start-up check by another file of the same model (whole and
  // valid under the same key): refused by its header's name, never opened as the other file.
  {
    const fs::path victim = d.path / "enc" / "empty.txt";
    const Bytes original = slurp(victim);
    write(victim, slurp(d.path / "enc" / "config.json"));
    auto r = unseal_into_memory(sealed_files(), test_key(), {}, UnsealHow::kWrite);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "name");
    CHECK(r.error().message.find("empty.txt changed after the start-up check") != std::string::npos);
    write(victim, original);
    REQUIRE(unseal_into_memory(sealed_files(), test_key(), {}, UnsealHow::kWrite));
  }
  // A chunk of the weights altered after the start-up check: refused by either path, naming it.
  const auto enc_weights = d.path / "enc" / "weights.bin";
  Bytes bad = slurp(enc_weights);
  auto h = parse_header(bad);
  REQUIRE(h);
  bad[h->sealed_offset(3) + 100] ^= 0x10;
  write(enc_weights, bad);
  for (const auto how : {UnsealHow::kWrite, UnsealHow::kMap}) {
    auto r = unseal_into_memory(sealed_files(), test_key(), {2, {}, nullptr}, how);
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kVerificationFailed);
    CHECK(r.error().message.find("chunk 3 of 5") != std::string::npos);
  }
}

TEST_CASE("the deployment manifest's model.encryption record: every member checked, each refusal saying which") {
  const nlohmann::json good = {{"model",
                                {{"encryption",
                                  {{"format", "CCI-ENC1"},
                                   {"cipher", "AES-256-GCM"},
                                   {"key_id", "kbs:///r/t/k"},
                                   {"chunk_size", 65536u},
                                   {"files", {{{"name", "a.bin"}, {"sealed_size", 100u}, {"sealed_sha256", std::string(64, '0')}}}}}}}}};
  auto r = encryption_record(good);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  REQUIRE(*r);
  CHECK((*r)->key_id == "kbs:///r/t/k");
  CHECK((*r)->files.size() == 1);
  nlohmann::json plain = good;
  plain["model"].erase("encryption");
  CHECK_FALSE(*encryption_record(plain));  // no record: a plain model
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](nlohmann::json& e) { e = "CCI-ENC1"; }, "is not an object"},
      {[](nlohmann::json& e) { e["compression"] = "none"; }, "unknown member 'compression'"},
      {[](nlohmann::json& e) { e["format"] = "CCI-ENC2"; }, "format must be"},
      {[](nlohmann::json& e) { e.erase("format"); }, "format must be"},
      {[](nlohmann::json& e) { e["cipher"] = "AES-128-GCM"; }, "cipher must be"},
      {[](nlohmann::json& e) { e["key_id"] = 7; }, "key_id must be a string"},
      {[](nlohmann::json& e) { e["key_id"] = "has space"; }, "key_id or chunk_size"},
      {[](nlohmann::json& e) { e["chunk_size"] = -1; }, "chunk_size must be an unsigned integer"},
      {[](nlohmann::json& e) { e["chunk_size"] = 3000u; }, "key_id or chunk_size"},
      {[](nlohmann::json& e) { e["chunk_size"] = 0x100000000ull; }, "key_id or chunk_size"},
      {[](nlohmann::json& e) { e["files"] = nlohmann::json::array(); }, "files must be a non-empty array"},
      {[](nlohmann::json& e) { e["files"][0]["extra"] = 1; }, "files[] must be {name, sealed_size, sealed_sha256}"},
      {[](nlohmann::json& e) { e["files"][0]["name"] = "../a.bin"; }, "files[] name"},
      {[](nlohmann::json& e) { e["files"].push_back(e["files"][0]); }, "lists 'a.bin' twice"},
      {[](nlohmann::json& e) { e["files"][0]["sealed_sha256"] = std::string(63, '0'); }, "files[] sealed_sha256"},
  };
  for (const auto& item : cases) {  // named copies: clang 14 cannot capture structured bindings (CAPTURE)
    const auto& edit = std::get<0>(item);
    const auto& says = std::get<1>(item);
    CAPTURE(says);
    nlohmann::json j = good;
    edit(j["model"]["encryption"]);
    auto bad = encryption_record(j);
    REQUIRE_FALSE(bad);
    CHECK(bad.error().field == "model.encryption");
    CHECK(bad.error().message.find(says) != std::string::npos);
  }
}

TEST_CASE("a model key file is exactly 32 raw bytes, read once, and the key's mode is warned about") {
  test::TempDir tmp;
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  auto write = [&](const std::string& name, size_t n, mode_t mode) {
    const std::string p = tmp.str(name);
    test::write_text(p, std::string(n, 'k'));
    ::chmod(p.c_str(), mode);
    return p;
  };
  auto key = read_key_file(write("good.key", 32, 0600), "--model-key", warn);
  REQUIRE_MESSAGE(key, key.error().message);
  CHECK(key->size() == 32);
  CHECK(warnings.empty());
  for (size_t n : {size_t{0}, size_t{16}, size_t{31}, size_t{33}, size_t{64}, size_t{4096}}) {
    CAPTURE(n);
    auto r = read_key_file(write("k" + std::to_string(n), n, 0600), "--model-key", warn);
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "--model-key");
    CHECK(r.error().message.find("a model key is 32 raw bytes") != std::string::npos);
  }
  REQUIRE(read_key_file(write("open.key", 32, 0644), "--model-key", warn));
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("can be read by other users (mode 644)") != std::string::npos);
  auto missing = read_key_file(tmp.str("absent.key"), "--model-key", warn);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kIo);
}
