// dm-verity root hashes against vectors/measure/README.md and, where veritysetup
// (Debian cryptsetup-bin) is installed, against veritysetup itself on a random image.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/hex.h"
#include "crypto/random.h"
#include "launch/verity.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::launch;

namespace {

std::string write_image(const test::TempDir& tmp, const std::string& name, const Bytes& data) {
  test::write_text(tmp.path() / name, std::string(as_chars(data)));
  return tmp.str(name);
}

Bytes mod251_image() {
  Bytes img(1 << 20);
  for (size_t i = 0; i < img.size(); ++i) img[i] = static_cast<std::uint8_t>(i % 251);
  return img;
}

std::string run_capture(const std::string& cmd) {
  std::string out;
  FILE* f = ::popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

std::string veritysetup_path() {
  for (const char* p : {"/usr/sbin/veritysetup", "/sbin/veritysetup", "/usr/bin/veritysetup"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

}  // namespace

TEST_CASE("dm-verity root hashes of the README reproduce") {
  test::TempDir tmp;
  auto img = write_image(tmp, "data.img", mod251_image());
  CHECK(to_hex(crypto::digest(crypto::DigestAlg::kSha256, mod251_image())) ==
        "631b84027d6b9e52b539c4e8373622d23032dfadc64d60af87339c9037e4f769");
  VerityParams p;
  p.salt = Bytes(32, 0);
  auto r = verity_format(img, p);
  REQUIRE(r);
  CHECK(to_hex(r->root) == "f7a2c03353a573af9c62e51838050ae1057f7bf1a92f43510e6c0599ff483866");
  CHECK(r->data_blocks == 256);
  CHECK(r->hash_blocks == 3);
  p.salt.clear();
  r = verity_format(img, p);
  REQUIRE(r);
  CHECK(to_hex(r->root) == "2741efefc98f2dbd797ca3c2b25241acaed1b3d21bf0ee20b633fe4a5051f20c");
  p.threads = 1;  // the thread count never changes the result
  CHECK(verity_format(img, p)->root == r->root);
}

TEST_CASE("dm-verity rejects images that are not whole data blocks, and bad parameters") {
  test::TempDir tmp;
  auto img = write_image(tmp, "odd.img", Bytes(4096 * 3 + 1, 7));
  auto r = verity_format(img, {});
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "image");
  CHECK(r.error().message.find("multiple of the data block size") != std::string::npos);
  CHECK_FALSE(verity_format(write_image(tmp, "empty.img", {}), {}));
  CHECK(verity_format(tmp.str("missing.img"), {}).error().code == ErrorCode::kIo);
  VerityParams p;
  p.data_block_size = 3000;
  CHECK(verity_format(write_image(tmp, "ok.img", Bytes(8192, 1)), p).error().code == ErrorCode::kUsage);
  p = {};
  p.salt = Bytes(257, 0);
  CHECK_FALSE(verity_format(tmp.str("ok.img"), p));
}

TEST_CASE("dm-verity matches veritysetup on a random image, hash device included") {
  auto vs = veritysetup_path();
  if (vs.empty()) {
    std::cout << "skipped: veritysetup not installed" << std::endl;
    std::exit(77);
  }
  test::TempDir tmp;
  // 1 MiB + 3 blocks of random data: three tree levels with 512-byte hash blocks.
  Bytes data = *crypto::random_bytes((1 << 20) + 3 * 4096);
  auto img = write_image(tmp, "rand.img", data);
  const std::string uuid = "12345678-9abc-def0-1234-56789abcdef0";
  struct Case { std::uint32_t hash_block; const char* hash; std::uint32_t format; };
  for (Case c : {Case{4096, "sha256", 1}, Case{512, "sha256", 1}, Case{4096, "sha512", 1}, Case{4096, "sha256", 0}}) {
    CAPTURE(c.hash_block);
    std::string hash_name = c.hash;
    CAPTURE(hash_name);
    // veritysetup writes into an existing file without truncating it: one file per case.
    std::string ref = "ref-" + hash_name + "-" + std::to_string(c.hash_block) + "-" + std::to_string(c.format) + ".hash";
    CAPTURE(c.format);
    Bytes salt = *crypto::random_bytes(32);
    std::string cmd = vs + " format --hash=" + c.hash + " --hash-block-size=" + std::to_string(c.hash_block) +
                      " --format=" + std::to_string(c.format) + " --salt=" + to_hex(salt) + " --uuid=" + uuid + " " + img +
                      " " + tmp.str(ref) + " 2>&1";
    std::string out = run_capture(cmd);
    auto pos = out.find("Root hash:");
    REQUIRE_MESSAGE(pos != std::string::npos, out);
    std::istringstream line(out.substr(pos + 10));
    std::string ref_root;
    line >> ref_root;

    VerityParams p;
    p.hash = *crypto::digest_from_name(c.hash);
    p.hash_block_size = c.hash_block;
    p.format = c.format;
    p.salt = salt;
    auto u = *from_hex("123456789abcdef0123456789abcdef0", "uuid", 16);
    std::copy(u.begin(), u.end(), p.uuid.begin());
    auto r = verity_format(img, p, tmp.str("ours.hash"));
    REQUIRE(r);
    CHECK(to_hex(r->root) == ref_root);
    CHECK(test::slurp(tmp.path() / "ours.hash") == test::slurp(tmp.path() / ref));
  }
}
