#include "infer/bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <algorithm>
#include <map>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace cci::infer {
namespace {

using Json = nlohmann::json;

Error bad(const std::string& what, const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, what + ": " + msg, field);
}

// GPT-2 bytes_to_unicode: printable bytes stand for themselves, the rest for U+0100 upwards.
struct ByteAlphabet {
  std::string to_char[256];
  std::unordered_map<std::string, std::uint8_t> to_byte;
  ByteAlphabet() {
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const int cp = printable ? b : next++;
      std::string s;
      if (cp < 0x80) {
        s += static_cast<char>(cp);
      } else {
        s += static_cast<char>(0xC0 | (cp >> 6));
        s += static_cast<char>(0x80 | (cp & 0x3F));
      }
      to_char[b] = s;
      to_byte[s] = static_cast<std::uint8_t>(b);
    }
  }
};
const ByteAlphabet& alphabet() {
  static const ByteAlphabet a;
  return a;
}

class Regex {
 public:
  static Result<std::shared_ptr<Regex>> compile(const std::string& pattern, const std::string& what) {
    int err = 0;
    PCRE2_SIZE off = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &err, &off, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      return bad(what, "pre-tokenizer pattern does not compile at offset " + std::to_string(off) + ": " + reinterpret_cast<char*>(msg), "pre_tokenizer");
    }
    return std::shared_ptr<Regex>(new Regex(code));
  }
  ~Regex() { pcre2_code_free(code_); }
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // "Isolated" split: matches become pieces, and so does the text between them.
  Result<std::vector<std::string>> split(std::string_view text) const {
    std::vector<std::string> out;
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_, nullptr);
    size_t at = 0, last = 0;
    while (at <= text.size()) {
      const int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), at, 0, md, nullptr);
      if (rc == PCRE2_ERROR_NOMATCH) break;
      if (rc < 0) {
        pcre2_match_data_free(md);
        return make_error(ErrorCode::kInvalidInput, "the text is not valid UTF-8 (pre-tokenizer)", "prompt");
      }
      const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
      if (ov[0] > last) out.emplace_back(text.substr(last, ov[0] - last));
      if (ov[1] > ov[0]) out.emplace_back(text.substr(ov[0], ov[1] - ov[0]));
      last = ov[1];
      at = ov[1] > ov[0] ? ov[1] : ov[1] + (ov[1] < text.size() ? utf8_sequence_length(static_cast<unsigned char>(text[ov[1]])) : 1);
    }
    if (last < text.size()) out.emplace_back(text.substr(last));
    pcre2_match_data_free(md);
    return out;
  }

 private:
  explicit Regex(pcre2_code* c) : code_(c) {}
  pcre2_code* code_;
};

struct PairHash {
  size_t operator()(const std::pair<std::string, std::string>& p) const { return std::hash<std::string>()(p.first) * 31 + std::hash<std::string>()(p.second); }
};

class ByteLevelBpe final : public Tokenizer {
 public:
  Result<std::vector<std::int64_t>> encode(std::string_view text) const override {
    std::vector<std::int64_t> out;
    size_t at = 0;
    while (at < text.size()) {
      // The next added token (longest match at the earliest position) cuts the text.
      size_t best_pos = text.size(), best_len = 0;
      std::int64_t best_id = -1;
      for (const auto& [content, id] : added_) {
        const size_t p = text.find(content, at);
        if (p < best_pos || (p == best_pos && p != std::string_view::npos && content.size() > best_len)) {
          best_pos = p, best_len = content.size(), best_id = id;
        }
      }
      CCI_TRY(encode_plain(text.substr(at, best_pos - at), out));
      if (best_id < 0) break;
      out.push_back(best_id);
      at = best_pos + best_len;
    }
    return out;
  }

  bool append_piece(std::int64_t id, bool, std::string& out) const override {
    if (id < 0 || static_cast<size_t>(id) >= id_to_token_.size() || id_to_token_[static_cast<size_t>(id)].empty()) {
      out += "\xEF\xBF\xBD";
      return true;
    }
    if (special_.count(id) != 0) return false;
    const std::string& tok = id_to_token_[static_cast<size_t>(id)];
    if (added_plain_.count(id) != 0) {
      out += tok;
      return true;
    }
    for (size_t i = 0; i < tok.size();) {
      const size_t n = utf8_sequence_length(static_cast<unsigned char>(tok[i]));
      auto it = alphabet().to_byte.find(tok.substr(i, n));
      if (it != alphabet().to_byte.end()) out += static_cast<char>(it->second);
      else out.append(tok, i, n);
      i += n;
    }
    return true;
  }
  std::int64_t vocab_size() const override { return static_cast<std::int64_t>(id_to_token_.size()); }
  std::optional<std::int64_t> bos_id() const override { return bos_; }
  std::optional<std::int64_t> eos_id() const override { return eos_; }

  static Result<std::unique_ptr<ByteLevelBpe>> build(const Json& j, const std::string& what);
  // Each stage splits every piece of the previous one (a Sequence pre-tokenizer applies its
  // members in order).
  Result<std::vector<std::string>> pretokenize(std::string_view text) const {
    std::vector<std::string> pieces{std::string(text)};
    for (const auto& stage : stages_) {
      std::vector<std::string> next;
      for (const auto& p : pieces) {
        auto parts = stage->split(p);
        if (!parts) return parts.error();
        next.insert(next.end(), parts->begin(), parts->end());
      }
      pieces = std::move(next);
    }
    return pieces;
  }

 private:
  Status encode_plain(std::string_view text, std::vector<std::int64_t>& out) const {
    if (text.empty()) return {};
    auto pieces = pretokenize(text);
    if (!pieces) return pieces.error();
    for (const auto& p : *pieces) CCI_TRY(encode_piece(p, out));
    return {};
  }
  Status encode_piece(const std::string& piece, std::vector<std::int64_t>& out) const;

  std::unordered_map<std::string, std::int64_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::unordered_map<std::pair<std::string, std::string>, int, PairHash> ranks_;
  std::vector<std::pair<std::string, std::int64_t>> added_;  // content, id (matched in text)
  std::unordered_map<std::int64_t, bool> special_, added_plain_;
  std::vector<std::shared_ptr<Regex>> stages_;
  bool ignore_merges_ = false;
  std::optional<std::int64_t> bos_, eos_;
};

// BPE over the byte-alphabet characters of one pre-token: merge the lowest-ranked adjacent pair
// until none is in the merge list (all occurrences of that pair, left to right).
Status ByteLevelBpe::encode_piece(const std::string& piece, std::vector<std::int64_t>& out) const {
  std::string mapped;
  for (unsigned char b : piece) mapped += alphabet().to_char[b];
  if (ignore_merges_) {
    if (auto it = vocab_.find(mapped); it != vocab_.end()) {
      out.push_back(it->second);
      return {};
    }
  }
  std::vector<std::string> parts;
  for (unsigned char b : piece) parts.push_back(alphabet().to_char[b]);
  while (parts.size() > 1) {
    int best = -1;
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      auto it = ranks_.find({parts[i], parts[i + 1]});
      if (it != ranks_.end() && (best < 0 || it->second < best)) best = it->second;
    }
    if (best < 0) break;
    std::vector<std::string> next;
    for (size_t i = 0; i < parts.size(); ++i) {
      if (i + 1 < parts.size()) {
        auto it = ranks_.find({parts[i], parts[i + 1]});
        if (it != ranks_.end() && it->second == best) {
          next.push_back(parts[i] + parts[i + 1]);
          ++i;
          continue;
        }
      }
      next.push_back(parts[i]);
    }
    parts = std::move(next);
  }
  for (const auto& p : parts) {
    auto it = vocab_.find(p);
    if (it == vocab_.end()) return make_error(ErrorCode::kMalformed, "tokenizer.json: the vocabulary has no token for '" + p + "'", "vocab");
    out.push_back(it->second);
  }
  return {};
}

// The split patterns, in order: ByteLevel with use_regex contributes GPT-2's pattern; Split
// (Isolated, not inverted) its Regex; Digits \p{N} (individual_digits) or \p{N}+. A Sequence
// lists them in order (Llama 3: Split then ByteLevel without regex; SmolLM: Digits then ByteLevel).
Status add_patterns(const Json& pre, const std::string& what, std::vector<std::string>& out, int depth = 0) {
  if (!pre.is_object()) return bad(what, "pre_tokenizer is missing or not an object", "pre_tokenizer");
  const std::string type = pre.value("type", "");
  if (type == "ByteLevel") {
    if (pre.value("add_prefix_space", false)) return bad(what, "ByteLevel add_prefix_space is not supported", "pre_tokenizer");
    if (pre.value("use_regex", true)) out.push_back(kGpt2Pattern);
    return {};
  }
  if (type == "Split") {
    if (!pre.contains("pattern") || !pre["pattern"].is_object() || !pre["pattern"].contains("Regex") || !pre["pattern"]["Regex"].is_string() ||
        pre.value("behavior", "") != "Isolated" || pre.value("invert", false)) {
      return bad(what, "only Split with a Regex pattern, behavior Isolated and no invert is supported", "pre_tokenizer");
    }
    out.push_back(pre["pattern"]["Regex"].get<std::string>());
    return {};
  }
  if (type == "Digits") {
    out.push_back(pre.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
    return {};
  }
  if (type == "Sequence" && depth == 0 && pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const auto& p : pre["pretokenizers"]) CCI_TRY(add_patterns(p, what, out, 1));
    return {};
  }
  return bad(what, "pre_tokenizer '" + type + "' is not supported (ByteLevel, Split, Digits, Sequence of those)", "pre_tokenizer");
}

// BOS from a TemplateProcessing post-processor that puts a special token first.
std::optional<std::int64_t> bos_of(const Json& post, const std::unordered_map<std::string, std::int64_t>& vocab) {
  if (!post.is_object() || post.value("type", "") != "TemplateProcessing" || !post.contains("single") || !post["single"].is_array() ||
      post["single"].empty()) {
    return std::nullopt;
  }
  const Json& first = post["single"][0];
  if (!first.contains("SpecialToken") || !first["SpecialToken"].contains("id")) return std::nullopt;
  auto it = vocab.find(first["SpecialToken"]["id"].get<std::string>());
  if (it == vocab.end()) return std::nullopt;
  return it->second;
}

Result<std::unique_ptr<ByteLevelBpe>> ByteLevelBpe::build(const Json& j, const std::string& what) {
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) return bad(what, "no model object", "model");
  const Json& m = j["model"];
  if (m.value("type", "BPE") != "BPE") return bad(what, "model type '" + m.value("type", "") + "' is not supported (BPE)", "model");
  if (m.contains("dropout") && !m["dropout"].is_null()) return bad(what, "BPE dropout is not supported", "dropout");
  if (j.contains("normalizer") && !j["normalizer"].is_null()) return bad(what, "normalizers are not supported", "normalizer");
  if (!m.contains("vocab") || !m["vocab"].is_object() || !m.contains("merges") || !m["merges"].is_array()) {
    return bad(what, "the BPE model needs vocab and merges", "model");
  }
  auto t = std::unique_ptr<ByteLevelBpe>(new ByteLevelBpe);
  for (const auto& [tok, id] : m["vocab"].items()) {
    if (!id.is_number_integer() || id.get<std::int64_t>() < 0 || id.get<std::int64_t>() >= (1 << 21)) return bad(what, "token '" + tok + "' has a bad id", "vocab");
    const auto i = static_cast<size_t>(id.get<std::int64_t>());
    if (t->id_to_token_.size() <= i) t->id_to_token_.resize(i + 1);
    if (!t->id_to_token_[i].empty()) return bad(what, "id " + std::to_string(i) + " is given to two tokens", "vocab");
    t->id_to_token_[i] = tok;
    t->vocab_[tok] = static_cast<std::int64_t>(i);
  }
  int rank = 0;
  for (const auto& mg : m["merges"]) {
    std::string a, b;
    if (mg.is_string()) {
      const std::string s = mg.get<std::string>();
      const auto sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) return bad(what, "merge '" + s + "' is not two tokens", "merges");
      a = s.substr(0, sp), b = s.substr(sp + 1);
    } else if (mg.is_array() && mg.size() == 2 && mg[0].is_string() && mg[1].is_string()) {
      a = mg[0].get<std::string>(), b = mg[1].get<std::string>();
    } else {
      return bad(what, "merge " + std::to_string(rank) + " is malformed", "merges");
    }
    if (!t->vocab_.count(a + b)) return bad(what, "merge '" + a + " " + b + "' makes a token the vocabulary lacks", "merges");
    t->ranks_.emplace(std::make_pair(a, b), rank++);
  }
  for (int b = 0; b < 256; ++b) {
    if (!t->vocab_.count(alphabet().to_char[b])) return bad(what, "the vocabulary lacks byte " + std::to_string(b) + " (not byte-level)", "vocab");
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const auto& a : j["added_tokens"]) {
      if (!a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string()) {
        return bad(what, "an added token lacks id or content", "added_tokens");
      }
      const auto id = a["id"].get<std::int64_t>();
      const std::string content = a["content"].get<std::string>();
      if (id < 0 || id >= (1 << 21) || content.empty()) return bad(what, "added token '" + content + "' is malformed", "added_tokens");
      if (t->id_to_token_.size() <= static_cast<size_t>(id)) t->id_to_token_.resize(static_cast<size_t>(id) + 1);
      t->id_to_token_[static_cast<size_t>(id)] = content;
      t->vocab_[content] = id;
      t->added_.emplace_back(content, id);
      if (a.value("special", false)) t->special_[id] = true;
      else t->added_plain_[id] = true;
    }
  }
  std::vector<std::string> patterns;
  CCI_TRY(add_patterns(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : Json(), what, patterns));
  bool byte_level = false;  // the byte alphabet needs a ByteLevel member
  const Json& pre = j["pre_tokenizer"];
  if (pre.value("type", "") == "ByteLevel") byte_level = true;
  if (pre.contains("pretokenizers") && pre["pretokenizers"].is_array()) {
    for (const auto& p : pre["pretokenizers"]) byte_level = byte_level || p.value("type", "") == "ByteLevel";
  }
  if (!byte_level) return bad(what, "the pre-tokenizer has no ByteLevel step: not a byte-level BPE tokenizer", "pre_tokenizer");
  if (patterns.empty()) return bad(what, "a ByteLevel pre-tokenizer without regex needs a Split before it", "pre_tokenizer");
  for (const auto& pattern : patterns) {
    auto re = Regex::compile(pattern, what);
    if (!re) return re.error();
    t->stages_.push_back(std::move(*re));
  }
  t->ignore_merges_ = m.value("ignore_merges", false);
  t->bos_ = bos_of(j.contains("post_processor") ? j["post_processor"] : Json(), t->vocab_);
  for (const char* name : {"<|end_of_text|>", "<|endoftext|>", "</s>", "<|im_end|>"}) {
    if (auto it = t->vocab_.find(name); it != t->vocab_.end()) {
      t->eos_ = it->second;
      break;
    }
  }
  return t;
}

Result<Json> parse_json(ByteView json, const std::string& what) {
  Json j = Json::parse(json.begin(), json.end(), nullptr, false);
  if (j.is_discarded()) return bad(what, "not valid JSON", "tokenizer.json");
  return j;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> parse_tokenizer_json(ByteView json, const std::string& what) {
  auto j = parse_json(json, what);
  if (!j) return j.error();
  auto t = ByteLevelBpe::build(*j, what);
  if (!t) return t.error();
  return std::unique_ptr<Tokenizer>(std::move(*t));
}

Result<std::vector<std::string>> pretokenize_for_test(ByteView tokenizer_json, std::string_view text) {
  auto j = parse_json(tokenizer_json, "tokenizer.json");
  if (!j) return j.error();
  auto t = ByteLevelBpe::build(*j, "tokenizer.json");
  if (!t) return t.error();
  return (*t)->pretokenize(text);
}

}  // namespace cci::infer
