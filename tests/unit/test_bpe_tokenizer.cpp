// Hugging Face byte-level BPE (tokenizer.json): GPT-2's and Llama 3's pre-tokenizer splits on
// tricky strings (spaces, digits, contractions, newlines, emoji), merges applied by rank,
// added tokens, lossless round trips on Unicode text, and refused files.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "infer/bpe_tokenizer.h"

using namespace cci;
using Json = nlohmann::json;
using Pieces = std::vector<std::string>;

namespace {

const char* kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// GPT-2's byte alphabet: printable bytes as themselves, the others from U+0100 on.
std::string byte_char(int b) {
  static std::vector<std::string> table = [] {
    std::vector<std::string> t(256);
    int next = 256;
    for (int i = 0; i < 256; ++i) {
      const bool printable = (i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255);
      const int cp = printable ? i : next++;
      std::string s;
      if (cp < 0x80) s += static_cast<char>(cp);
      else s += {static_cast<char>(0xC0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3F))};
      t[static_cast<size_t>(i)] = s;
    }
    return t;
  }();
  return table[static_cast<size_t>(b)];
}

// A tokenizer.json: the 256 byte tokens (ids = byte values), the merges' results after them.
Json tokenizer(const std::vector<std::pair<std::string, std::string>>& merges, const Json& pre, bool ignore_merges = false) {
  Json vocab = Json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  Json m = Json::array();
  int id = 256;
  for (const auto& [a, b] : merges) {
    vocab[a + b] = id++;
    m.push_back(a + " " + b);
  }
  Json j = {{"version", "1.0"},
            {"normalizer", nullptr},
            {"pre_tokenizer", pre},
            {"added_tokens", {{{"id", 1000}, {"content", "<|endoftext|>"}, {"special", true}}}},
            {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"vocab", vocab}, {"merges", m}, {"ignore_merges", ignore_merges}}}};
  return j;
}

const Json kGpt2Pre = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
const Json kLlama3Pre = {{"type", "Sequence"},
                         {"pretokenizers",
                          {{{"type", "Split"}, {"pattern", {{"Regex", kLlama3Pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
                           {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};

Pieces split(const Json& pre, const std::string& text) {
  const std::string j = tokenizer({}, pre).dump();
  auto p = infer::pretokenize_for_test(as_bytes(j), text);
  REQUIRE_MESSAGE(p, p.error().message);
  return *p;
}

}  // namespace

TEST_CASE("byte-level BPE: GPT-2 pre-tokenizer splits of tricky strings") {
  CHECK(split(kGpt2Pre, "Hello world") == Pieces{"Hello", " world"});
  CHECK(split(kGpt2Pre, "I'm here, don't") == Pieces{"I", "'m", " here", ",", " don", "'t"});
  CHECK(split(kGpt2Pre, "  two spaces") == Pieces{" ", " two", " spaces"});
  CHECK(split(kGpt2Pre, "trailing  ") == Pieces{"trailing", "  "});
  CHECK(split(kGpt2Pre, "123 4567 8.9") == Pieces{"123", " 4567", " 8", ".", "9"});
  CHECK(split(kGpt2Pre, "a\n\nb") == Pieces{"a", "\n", "\n", "b"});
  CHECK(split(kGpt2Pre, "Hi!!! 🙂👍") == Pieces{"Hi", "!!!", " 🙂👍"});
  CHECK(split(kGpt2Pre, "café naïve 你好") == Pieces{"café", " naïve", " 你好"});
  CHECK(split(kGpt2Pre, "I'M") == Pieces{"I", "'", "M"});  // GPT-2's contractions are case-sensitive
}

TEST_CASE("byte-level BPE: Llama 3 pre-tokenizer (digits in threes, case-insensitive contractions)") {
  CHECK(split(kLlama3Pre, "12345") == Pieces{"123", "45"});
  CHECK(split(kLlama3Pre, "I'M here") == Pieces{"I", "'M", " here"});
  CHECK(split(kLlama3Pre, "a\n\nb") == Pieces{"a", "\n\n", "b"});
  CHECK(split(kLlama3Pre, "(hello)") == Pieces{"(hello", ")"});
}

TEST_CASE("byte-level BPE: SmolLM-style Sequence of Digits (individual) and ByteLevel") {
  const Json smol = {{"type", "Sequence"},
                     {"pretokenizers",
                      {{{"type", "Digits"}, {"individual_digits", true}},
                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}}}};
  CHECK(split(smol, "abc 123") == Pieces{"abc", " ", "1", "2", "3"});
  CHECK(split(smol, "v2.0 rocks") == Pieces{"v", "2", ".", "0", " rocks"});
  const Json metaspace = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Metaspace"}}, {{"type", "ByteLevel"}}}}};
  CHECK_FALSE(infer::parse_tokenizer_json(as_bytes(tokenizer({}, metaspace).dump()), "tokenizer.json"));
  const Json digits_only = {{"type", "Digits"}, {"individual_digits", true}};
  CHECK(infer::parse_tokenizer_json(as_bytes(tokenizer({}, digits_only).dump()), "tokenizer.json").error().field == "pre_tokenizer");
}

TEST_CASE("byte-level BPE: merges by rank, added tokens, lossless round trips") {
  // "Ġ" is the space byte in GPT-2's alphabet.
  const std::string sp = byte_char(' ');
  const Json j = tokenizer({{"l", "l"}, {"h", "e"}, {"he", "ll"}, {sp, "w"}, {"hell", "o"}, {sp + "w", "o"}}, kGpt2Pre);
  auto t = infer::parse_tokenizer_json(as_bytes(j.dump()), "tokenizer.json");
  REQUIRE_MESSAGE(t, t.error().message);
  auto ids = (*t)->encode("hello wo");
  REQUIRE(ids);
  CHECK(*ids == std::vector<std::int64_t>{260, 261});  // "hello", " wo"
  auto with_special = (*t)->encode("he<|endoftext|>he");
  REQUIRE(with_special);
  CHECK(*with_special == std::vector<std::int64_t>{257, 1000, 257});
  CHECK((*t)->decode(*with_special) == "hehe");  // special tokens are not printed
  CHECK((*t)->eos_id() == 1000);
  for (const std::string s : {"Hello, world! 123", "Ünïcödé: café, Straße", "emoji 🙂👍🏽 CJK 你好世界 한국어", "tabs\tand\nnewlines  ", ""}) {
    auto e = (*t)->encode(s);
    REQUIRE(e);
    CHECK((*t)->decode(*e) == s);
  }
  CHECK_FALSE((*t)->encode("\xFF\xFE not UTF-8"));
}

TEST_CASE("byte-level BPE: ignore_merges takes a whole pre-token found in the vocabulary") {
  const Json j = tokenizer({{"a", "b"}, {"c", "d"}, {"ab", "cd"}}, kGpt2Pre, true);
  auto t = infer::parse_tokenizer_json(as_bytes(j.dump()), "tokenizer.json");
  REQUIRE(t);
  CHECK(*(*t)->encode("abcd") == std::vector<std::int64_t>{258});
}

TEST_CASE("byte-level BPE: malformed or unsupported tokenizer.json files are refused") {
  auto refuse = [](const Json& j) {
    auto t = infer::parse_tokenizer_json(as_bytes(j.dump()), "tokenizer.json");
    REQUIRE_FALSE(t);
    return t.error().field;
  };
  CHECK_FALSE(infer::parse_tokenizer_json(as_bytes("{not json"), "tokenizer.json"));
  Json j = tokenizer({}, kGpt2Pre);
  j["model"]["type"] = "WordPiece";
  CHECK(refuse(j) == "model");
  j = tokenizer({}, kGpt2Pre);
  j["normalizer"] = {{"type", "NFC"}};
  CHECK(refuse(j) == "normalizer");
  j = tokenizer({}, kGpt2Pre);
  j["model"]["merges"].push_back("x y");  // "xy" is not in the vocabulary
  CHECK(refuse(j) == "merges");
  j = tokenizer({}, kGpt2Pre);
  j["model"]["vocab"].erase(byte_char(0));
  CHECK(refuse(j) == "vocab");
  j = tokenizer({}, {{"type", "Metaspace"}});
  CHECK(refuse(j) == "pre_tokenizer");
  Json bad_re = kLlama3Pre;
  bad_re["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  CHECK(refuse(tokenizer({}, bad_re)) == "pre_tokenizer");
  j = tokenizer({}, kGpt2Pre);
  j["model"]["dropout"] = 0.1;
  CHECK(refuse(j) == "dropout");
}
