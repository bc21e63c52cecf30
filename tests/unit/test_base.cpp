#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/der.h"
#include "base/file_io.h"
#include "base/hex.h"
#include "base/utf8.h"
#include "support/vectors.h"

using namespace cci;

TEST_CASE("hex: round trip and strict decoding") {
  Bytes b{0x00, 0x01, 0xab, 0xff};
  CHECK(to_hex(b) == "0001abff");
  auto d = from_hex("0001ABff", "x");
  REQUIRE(d);
  CHECK(*d == b);
  CHECK_FALSE(from_hex("abc", "x"));
  auto bad = from_hex("zz", "REPORT_DATA");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == ErrorCode::kMalformed);
  CHECK(bad.error().message.find("REPORT_DATA") != std::string::npos);
  auto wrong_len = from_hex("0011", "MEASUREMENT", 48);
  REQUIRE_FALSE(wrong_len);
  CHECK(wrong_len.error().message.find("expected 48 bytes") != std::string::npos);
}

TEST_CASE("base64: RFC 4648 vectors and rejection of non-canonical input") {
  const char* plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char* enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
  for (int i = 0; i < 7; ++i) {
    CHECK(base64_encode(as_bytes(plain[i])) == enc[i]);
    auto d = base64_decode(enc[i], "x");
    REQUIRE(d);
    CHECK(as_chars(*d) == plain[i]);
  }
  CHECK_FALSE(base64_decode("Zg=", "x"));     // length
  CHECK_FALSE(base64_decode("Zh==", "x"));    // non-zero padding bits
  CHECK_FALSE(base64_decode("Z!==", "x"));    // alphabet
  CHECK_FALSE(base64_decode("Zg==Zg==", "x"));  // padding in the middle
}

TEST_CASE("write_file_atomic: replaces content, sets the mode, leaves no temporary file") {
  test::TempDir dir;
  std::string path = dir.str("out.sig");
  test::write_text(path, "old content");
  REQUIRE(write_file_atomic(path, as_bytes("new"), 0600));
  auto back = read_file(path, 100);
  REQUIRE(back);
  CHECK(as_chars(*back) == "new");
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 1);
}

TEST_CASE("write_file_atomic: a failed write leaves the old file untouched") {
  test::TempDir dir;
  auto s = write_file_atomic(dir.str("no/such/dir/out"), as_bytes("x"));
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ErrorCode::kIo);
}

TEST_CASE("read_file: size cap and missing files") {
  test::TempDir dir;
  test::write_text(dir.path() / "f", "0123456789");
  auto capped = read_file(dir.str("f"), 5);
  REQUIRE_FALSE(capped);
  CHECK(capped.error().code == ErrorCode::kInvalidInput);
  auto missing = read_file(dir.str("nope"), 5);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::kIo);
  CHECK(missing.error().message.find("nope") != std::string::npos);
}

TEST_CASE("utf8: validation follows the Unicode well-formed table, repair substitutes maximal subparts") {
  CHECK(is_valid_utf8(""));
  CHECK(is_valid_utf8("plain ASCII"));
  CHECK(is_valid_utf8("caf\xC3\xA9 \xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x99\x82"));
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong, three bytes
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // a surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xE6" "a"));          // a lead byte followed by ASCII
  CHECK_FALSE(is_valid_utf8("\xE6\x97"));          // unfinished at the end
  // Unicode §3.9, table 3-8: "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64" repairs to
  // a FFFD FFFD FFFD b FFFD c FFFD FFFD d.
  const std::string fffd = "\xEF\xBF\xBD";
  CHECK(repair_utf8("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64") ==
        "a" + fffd + fffd + fffd + "b" + fffd + "c" + fffd + fffd + "d");
  CHECK(repair_utf8("\xE6" "a") == fffd + "a");
  size_t held = 0;
  CHECK(repair_utf8("ok \xE6\x97", &held) == "ok ");
  CHECK(held == 2);
  CHECK(repair_utf8("ok \xE6\x97") == "ok " + fffd);
  for (int b = 0; b < 256; ++b) {  // every single byte after a lead byte gives valid output
    const std::string s = std::string("\xF0", 1) + static_cast<char>(b);
    CHECK(is_valid_utf8(repair_utf8(s)));
  }
}

TEST_CASE("der::Reader: shortest-form definite lengths, single-byte tags, values inside their container") {
  const der::Reader r("Thing", "thing");
  const Bytes ok = {0x30, 0x03, 0x02, 0x01, 0x05, 0x04, 0x00};
  ByteView in = ok;
  auto seq = r.expect(in, der::kSequence, "the outer SEQUENCE");
  REQUIRE(seq);
  CHECK(seq->value.size() == 3);
  auto os = r.next(in, "the OCTET STRING");
  REQUIRE(os);
  CHECK(os->tag == der::kOctetString);
  CHECK(os->value.empty());
  CHECK(in.empty());
  const std::pair<Bytes, const char*> bad[] = {
      {{0x30}, "Thing: x is truncated"},
      {{0x1f, 0x01, 0x00}, "Thing: x has a multi-byte tag"},
      {{0x04, 0x81, 0x05, 1, 2, 3, 4, 5}, "Thing: x has a length that is not in its shortest form"},
      {{0x04, 0x82, 0x00, 0x80}, "Thing: x has a length that is not in its shortest form"},
      {{0x04, 0x80}, "Thing: x has a length DER does not allow"},  // indefinite
      {{0x04, 0x84, 1, 0, 0, 0}, "Thing: x has a length DER does not allow"},
      {{0x04, 0x03, 1, 2}, "Thing: x runs past its container"},
      {{0x02, 0x01, 0x00}, "Thing: x has tag 2, expected 4"},
  };
  for (const auto& [bytes, message] : bad) {
    ByteView b = bytes;
    auto t = r.expect(b, der::kOctetString, "x");
    REQUIRE_FALSE(t);
    CHECK(t.error().message == message);
    CHECK(t.error().field == "thing");
    CHECK(t.error().code == ErrorCode::kMalformed);
  }
  // A long form where it is needed is fine.
  Bytes big = {0x04, 0x81, 0x80};
  big.resize(3 + 0x80, 7);
  ByteView b = big;
  auto t = r.next(b, "x");
  REQUIRE(t);
  CHECK(t->value.size() == 0x80);
}
