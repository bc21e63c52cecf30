// The engine's own SentencePiece reader against libsentencepiece itself (this test process
// has no libtorch, so the library can load): models trained here with several option sets,
// and the embedded model's tokenizer, must encode every string to the same ids, and decode
// must round-trip. Malformed model files are refused.
#include <doctest/doctest.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <random>

#include "base/utf8.h"
#include "infer/sentencepiece.h"
#include "support/vectors.h"

using namespace cci;

namespace {

const std::vector<std::string> kTricky = {
    "In the beginning God created the heaven and the earth.",
    "And God said, Let there be light: and there was light.",
    "  leading and  double   spaces ",
    "digits 1234567890 and 3.14159",
    "contractions: don't, I'll, we've, they're",
    "Ünïcödé: café, naïve, Straße, ﬁne",
    "emoji 🙂👍🏽 and CJK 你好世界 and Hangul 한국어",
    "tabs\tand\nnewlines",
    "",
    " ",
    "x",
    "<s> looks like a control piece </s>",
    "\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
};

std::string corpus_file(const test::TempDir& tmp) {
  const std::string path = tmp.str("corpus.txt");
  std::ofstream f(path);
  const char* lines[] = {"In the beginning God created the heaven and the earth.", "And the earth was without form, and void.",
                         "And God said, Let there be light: and there was light.", "And God saw the light, that it was good.",
                         "The grace of our Lord Jesus Christ be with you all. Amen.", "café naïve 1234 don't I'll 你好"};
  for (int i = 0; i < 300; ++i) f << lines[i % 6] << " " << i << "\n";
  return path;
}

std::vector<std::int64_t> reference(const sentencepiece::SentencePieceProcessor& sp, const std::string& s) {
  std::vector<int> ids;
  REQUIRE(sp.Encode(s, &ids).ok());
  return std::vector<std::int64_t>(ids.begin(), ids.end());
}

void compare(const std::string& model_file, const std::vector<std::string>& texts) {
  sentencepiece::SentencePieceProcessor sp;
  REQUIRE(sp.Load(model_file).ok());
  auto ours = infer::parse_sentencepiece(test::slurp(model_file), model_file);
  REQUIRE_MESSAGE(ours, ours.error().message);
  for (const auto& t : texts) {
    auto ids = (*ours)->encode(t);
    REQUIRE(ids);
    CHECK_MESSAGE(*ids == reference(sp, t), "text: '" << t << "'");
    std::string ref_text;
    REQUIRE(sp.Decode(std::vector<int>(ids->begin(), ids->end()), &ref_text).ok());
    CHECK_MESSAGE((*ours)->decode(*ids) == ref_text, "text: '" << t << "'");
  }
}

}  // namespace

TEST_CASE("sentencepiece: BPE models trained here encode exactly as libsentencepiece does") {
  test::TempDir tmp;
  const std::string corpus = corpus_file(tmp);
  const std::string base = "--input=" + corpus + " --model_type=bpe --vocab_size=400 --character_coverage=1.0 --minloglevel=2" +
                           " --normalization_rule_name=identity --bos_id=1 --eos_id=2 --unk_id=0 --pad_id=-1";
  struct Variant {
    std::string name, args;
  };
  const std::vector<Variant> variants = {
      {"llama-like", " --byte_fallback=true --remove_extra_whitespaces=false --split_digits=true"},
      {"folded-spaces", " --byte_fallback=true --remove_extra_whitespaces=true"},
      {"no-dummy-prefix", " --byte_fallback=true --add_dummy_prefix=false --remove_extra_whitespaces=false"},
      {"unk-not-bytes", " --byte_fallback=false"},
      {"user-symbols", " --byte_fallback=true --user_defined_symbols=<eot>,God"},
  };
  for (const auto& v : variants) {
    CAPTURE(v.name);
    const std::string prefix = tmp.str(v.name);
    REQUIRE(sentencepiece::SentencePieceTrainer::Train(base + v.args + " --model_prefix=" + prefix).ok());
    auto extra = kTricky;
    extra.push_back("God<eot>God said<eot>");
    compare(prefix + ".model", extra);
  }
}

TEST_CASE("sentencepiece: the embedded model's tokenizer matches libsentencepiece and round-trips") {
  const auto file = std::filesystem::path(CCI_SOURCE_DIR) / "models/kjv-tiny/tokenizer.model";
  REQUIRE(std::filesystem::exists(file));
  compare(file.string(), kTricky);
  auto t = infer::parse_sentencepiece(test::slurp(file), "tokenizer.model");
  REQUIRE(t);
  for (const auto& s : {std::string("And God said, Let there be light."), std::string("Ünïcödé 🙂 你好")}) {
    auto ids = (*t)->encode(s);
    REQUIRE(ids);
    CHECK((*t)->decode(*ids) == s);
    infer::StreamDecoder sd(**t);
    std::string streamed;
    for (auto id : *ids) streamed += sd.push(id);
    CHECK(streamed == s);
  }
  CHECK((*t)->bos_id() == 1);
  CHECK((*t)->eos_id() == 2);
}

TEST_CASE("sentencepiece: a sampled byte piece followed by ASCII streams as U+FFFD, never as invalid UTF-8") {
  const auto file = std::filesystem::path(CCI_SOURCE_DIR) / "models/kjv-tiny/tokenizer.model";
  auto t = infer::parse_sentencepiece(test::slurp(file), "tokenizer.model");
  REQUIRE(t);
  // The byte-fallback piece <0xE6> (first byte of a three-byte character), then plain text.
  auto e6 = (*t)->encode("\xE6\x97\xA5");  // U+65E5: absent from the vocabulary, so byte pieces
  REQUIRE(e6);
  REQUIRE(e6->size() >= 3);
  const std::int64_t lead = (*e6)[e6->size() - 3];
  auto word = (*t)->encode("And");
  REQUIRE(word);
  CHECK_FALSE(is_valid_utf8((*t)->decode({lead, (*word)[0]})));  // the raw decode is ill-formed
  infer::StreamDecoder sd(**t);
  std::string streamed = sd.push(lead);
  CHECK(streamed.empty());  // held: the character may still be completed
  for (auto id : *word) streamed += sd.push(id);
  streamed += sd.finish();
  CHECK(is_valid_utf8(streamed));
  CHECK(streamed.find("\xEF\xBF\xBD") == 0);
  CHECK(streamed.find("And") != std::string::npos);
  infer::StreamDecoder tail(**t);
  CHECK(tail.push(lead).empty());
  CHECK(tail.finish() == "\xEF\xBF\xBD");  // unfinished at the end of generation
}

namespace {

// Counts the pieces decoded, to show streaming decodes each id once.
class CountingTokenizer final : public infer::Tokenizer {
 public:
  explicit CountingTokenizer(const infer::Tokenizer& t) : t_(t) {}
  Result<std::vector<std::int64_t>> encode(std::string_view text) const override { return t_.encode(text); }
  bool append_piece(std::int64_t id, bool at_start, std::string& out) const override {
    ++calls;
    return t_.append_piece(id, at_start, out);
  }
  std::int64_t vocab_size() const override { return t_.vocab_size(); }
  std::optional<std::int64_t> bos_id() const override { return t_.bos_id(); }
  std::optional<std::int64_t> eos_id() const override { return t_.eos_id(); }
  mutable size_t calls = 0;

 private:
  const infer::Tokenizer& t_;
};

}  // namespace

TEST_CASE("sentencepiece: streaming equals the repaired whole decode, one piece decoded per token") {
  const auto file = std::filesystem::path(CCI_SOURCE_DIR) / "models/kjv-tiny/tokenizer.model";
  auto t = infer::parse_sentencepiece(test::slurp(file), "tokenizer.model");
  REQUIRE(t);
  CountingTokenizer counting(**t);
  std::mt19937_64 rng(7);
  // Ids anywhere in the vocabulary (byte pieces, control ids) and a few outside it.
  std::uniform_int_distribution<std::int64_t> any(-2, (*t)->vocab_size() + 2);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::int64_t> prefix, ids;
    const int np = round % 5 == 0 ? 0 : 1 + static_cast<int>(rng() % 300);
    for (int i = 0; i < np; ++i) prefix.push_back(any(rng));
    for (int i = 0; i < 400; ++i) ids.push_back(any(rng));
    std::vector<std::int64_t> all = prefix;
    all.insert(all.end(), ids.begin(), ids.end());
    const std::string whole = (*t)->decode(all), before = (*t)->decode(prefix);
    REQUIRE(whole.compare(0, before.size(), before) == 0);
    counting.calls = 0;
    infer::StreamDecoder sd(counting, prefix);
    std::string streamed;
    for (auto id : ids) {
      const std::string piece = sd.push(id);
      CHECK(is_valid_utf8(piece));
      streamed += piece;
    }
    streamed += sd.finish();
    CAPTURE(round);
    CHECK(streamed == repair_utf8(std::string_view(whole).substr(before.size())));
    CHECK(counting.calls <= ids.size() + prefix.size());
    CHECK(counting.calls >= ids.size());
    if (!prefix.empty()) CHECK(counting.calls <= ids.size() + 8);  // the prefix is looked at only until a visible piece
  }
}

TEST_CASE("sentencepiece: malformed or unsupported model files are refused") {
  test::TempDir tmp;
  const std::string corpus = corpus_file(tmp);
  REQUIRE(sentencepiece::SentencePieceTrainer::Train("--input=" + corpus + " --model_prefix=" + tmp.str("uni") +
                                                     " --model_type=unigram --vocab_size=100 --minloglevel=2")
              .ok());
  auto uni = infer::parse_sentencepiece(test::slurp(tmp.str("uni.model")), "uni.model");
  REQUIRE_FALSE(uni);
  CHECK(uni.error().field == "model_type");
  REQUIRE(sentencepiece::SentencePieceTrainer::Train("--input=" + corpus + " --model_prefix=" + tmp.str("nfkc") +
                                                     " --model_type=bpe --vocab_size=100 --minloglevel=2")
              .ok());
  CHECK(infer::parse_sentencepiece(test::slurp(tmp.str("nfkc.model")), "nfkc.model").error().field == "normalizer_spec");
  CHECK_FALSE(infer::parse_sentencepiece(Bytes{}, "empty"));
  CHECK_FALSE(infer::parse_sentencepiece(Bytes{0x0A, 0xFF}, "cut"));
  CHECK_FALSE(infer::parse_sentencepiece(as_bytes("this is not a protobuf"), "text"));
  Bytes model = test::slurp(tmp.str("nfkc.model"));
  model.resize(model.size() / 2);
  CHECK_FALSE(infer::parse_sentencepiece(model, "half"));
}
