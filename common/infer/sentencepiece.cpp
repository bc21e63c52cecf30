#include "infer/sentencepiece.h"

#include <cstring>
#include <queue>
#include <unordered_map>


namespace cci::infer {
namespace {

Error bad(const std::string& what, const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, what + ": " + msg, field);
}

// --- protobuf wire format (only what sentencepiece_model.proto uses) -------------------------

struct Field {
  std::uint32_t number = 0;
  std::uint32_t wire = 0;
  std::uint64_t varint = 0;  // wire 0
  std::uint32_t fixed32 = 0; // wire 5
  ByteView bytes;            // wire 2
};

class Wire {
 public:
  explicit Wire(ByteView b) : b_(b) {}
  bool done() const { return at_ >= b_.size(); }
  bool next(Field& f) {
    std::uint64_t key;
    if (!varint(key) || key >> 32 != 0) return false;
    f.number = static_cast<std::uint32_t>(key >> 3);
    f.wire = static_cast<std::uint32_t>(key & 7);
    switch (f.wire) {
      case 0: return varint(f.varint);
      case 1: return skip(8);
      case 2: {
        std::uint64_t n;
        if (!varint(n) || n > b_.size() - at_) return false;
        f.bytes = b_.subspan(at_, static_cast<size_t>(n));
        at_ += static_cast<size_t>(n);
        return true;
      }
      case 5:
        if (b_.size() - at_ < 4) return false;
        std::memcpy(&f.fixed32, b_.data() + at_, 4);
        at_ += 4;
        return true;
      default: return false;
    }
  }

 private:
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= b_.size()) return false;
      const std::uint8_t c = b_[at_++];
      v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if ((c & 0x80) == 0) return true;
    }
    return false;
  }
  bool skip(size_t n) {
    if (b_.size() - at_ < n) return false;
    at_ += n;
    return true;
  }
  ByteView b_;
  size_t at_ = 0;
};

enum PieceType { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct Piece {
  std::string text;
  float score = 0;
  int type = kNormal;
};

struct Spec {
  int model_type = 1;  // UNIGRAM unless said
  bool byte_fallback = false;
  std::int64_t unk = 0, bos = 1, eos = 2;
  std::string normalizer = "nmt_nfkc";
  bool has_charsmap = false, add_dummy_prefix = true, remove_extra_whitespaces = true, escape_whitespaces = true;
};

std::int64_t as_int32(std::uint64_t v) { return static_cast<std::int64_t>(static_cast<std::int32_t>(static_cast<std::uint32_t>(v))); }

bool parse_piece(ByteView b, Piece& p) {
  Wire w(b);
  Field f;
  while (!w.done()) {
    if (!w.next(f)) return false;
    if (f.number == 1 && f.wire == 2) p.text.assign(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
    else if (f.number == 2 && f.wire == 5) std::memcpy(&p.score, &f.fixed32, 4);
    else if (f.number == 3 && f.wire == 0) p.type = static_cast<int>(f.varint);
  }
  return true;
}

bool parse_trainer(ByteView b, Spec& s) {
  Wire w(b);
  Field f;
  while (!w.done()) {
    if (!w.next(f)) return false;
    if (f.wire != 0) continue;
    if (f.number == 3) s.model_type = static_cast<int>(f.varint);
    else if (f.number == 35) s.byte_fallback = f.varint != 0;
    else if (f.number == 40) s.unk = as_int32(f.varint);
    else if (f.number == 41) s.bos = as_int32(f.varint);
    else if (f.number == 42) s.eos = as_int32(f.varint);
  }
  return true;
}

bool parse_normalizer(ByteView b, Spec& s) {
  Wire w(b);
  Field f;
  while (!w.done()) {
    if (!w.next(f)) return false;
    if (f.number == 1 && f.wire == 2) s.normalizer.assign(reinterpret_cast<const char*>(f.bytes.data()), f.bytes.size());
    else if (f.number == 2 && f.wire == 2) s.has_charsmap = !f.bytes.empty();
    else if (f.number == 3 && f.wire == 0) s.add_dummy_prefix = f.varint != 0;
    else if (f.number == 4 && f.wire == 0) s.remove_extra_whitespaces = f.varint != 0;
    else if (f.number == 5 && f.wire == 0) s.escape_whitespaces = f.varint != 0;
  }
  return true;
}

const std::string kSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

// --- the model ---------------------------------------------------------------------------------

class SentencePiece final : public Tokenizer {
 public:
  SentencePiece(std::vector<Piece> pieces, Spec spec) : pieces_(std::move(pieces)), spec_(std::move(spec)) {
    shown_.reserve(pieces_.size());
    for (const Piece& p : pieces_) shown_.push_back(shown(p));
    for (size_t i = 0; i < pieces_.size(); ++i) {
      const Piece& p = pieces_[i];
      if (p.type == kNormal || p.type == kUserDefined) vocab_.emplace(p.text, static_cast<std::int64_t>(i));
      if (p.type == kUserDefined) user_defined_.push_back(p.text);
      if (p.type == kByte && p.text.size() == 6) {
        const int v = std::stoi(p.text.substr(3, 2), nullptr, 16);
        byte_id_[static_cast<size_t>(v)] = static_cast<std::int64_t>(i);
      }
    }
  }

  Result<std::vector<std::int64_t>> encode(std::string_view text) const override;
  bool append_piece(std::int64_t id, bool at_start, std::string& out) const override;
  std::int64_t vocab_size() const override { return static_cast<std::int64_t>(pieces_.size()); }
  std::optional<std::int64_t> bos_id() const override { return id_or_none(spec_.bos); }
  std::optional<std::int64_t> eos_id() const override { return id_or_none(spec_.eos); }

 private:
  std::optional<std::int64_t> id_or_none(std::int64_t id) const {
    if (id < 0 || id >= vocab_size()) return std::nullopt;
    return id;
  }
  std::string normalize(std::string_view text) const;
  std::vector<std::string> symbols(const std::string& normalized) const;
  void emit(const std::string& piece, std::vector<std::int64_t>& out, bool& prev_unk) const;
  static std::string shown(const Piece& p);

  std::vector<Piece> pieces_;
  std::vector<std::string> shown_;  // each piece as decoding shows it
  Spec spec_;
  std::unordered_map<std::string, std::int64_t> vocab_;  // what merges and lookups may produce
  std::vector<std::string> user_defined_;
  std::int64_t byte_id_[256]{};
};

// normalizer.cc with the identity rule: optional whitespace folding, dummy prefix, ' ' -> U+2581.
std::string SentencePiece::normalize(std::string_view text) const {
  std::string s;
  if (spec_.remove_extra_whitespaces) {
    bool space = true;  // drops leading spaces
    for (char c : text) {
      if (c == ' ') {
        if (!space) s += ' ';
        space = true;
      } else {
        s += c;
        space = false;
      }
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
  } else {
    s.assign(text);
  }
  if (s.empty()) return s;
  if (spec_.add_dummy_prefix) s.insert(s.begin(), ' ');
  if (!spec_.escape_whitespaces) return s;
  std::string out;
  for (char c : s) out += c == ' ' ? kSpace : std::string(1, c);
  return out;
}

// One symbol per UTF-8 character, user-defined pieces (longest match) kept whole.
std::vector<std::string> SentencePiece::symbols(const std::string& s) const {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t len = 0;
    for (const auto& u : user_defined_) {
      if (u.size() > len && s.compare(i, u.size(), u) == 0) len = u.size();
    }
    if (len == 0) len = std::min(utf8_sequence_length(static_cast<unsigned char>(s[i])), s.size() - i);
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

// Unknown symbols become their bytes (byte fallback) or one unk id for each run of them
// (sentencepiece_processor.cc merges consecutive unknowns).
void SentencePiece::emit(const std::string& piece, std::vector<std::int64_t>& out, bool& prev_unk) const {
  auto it = vocab_.find(piece);
  const bool unk = it == vocab_.end() && !spec_.byte_fallback;
  if (it != vocab_.end()) {
    out.push_back(it->second);
  } else if (spec_.byte_fallback) {
    for (unsigned char c : piece) out.push_back(byte_id_[c]);
  } else if (!prev_unk) {
    out.push_back(spec_.unk);
  }
  prev_unk = unk;
}

// bpe_model.cc: repeatedly merge the adjacent pair whose concatenation is a piece with the
// highest score (ties: the leftmost pair), until no pair is a piece.
Result<std::vector<std::int64_t>> SentencePiece::encode(std::string_view text) const {
  std::vector<std::int64_t> out;
  const std::string norm = normalize(text);
  if (norm.empty()) return out;
  struct Sym {
    std::string text;
    int prev, next;
    bool alive = true;
  };
  std::vector<Sym> sym;
  for (auto& t : symbols(norm)) {
    const int i = static_cast<int>(sym.size());
    sym.push_back({std::move(t), i - 1, i + 1});
  }
  sym.back().next = -1;
  struct Pair {
    float score;
    int left, right;
    size_t size;  // of the merged text, to notice a stale entry
    bool operator<(const Pair& o) const { return score != o.score ? score < o.score : left > o.left; }
  };
  std::priority_queue<Pair> agenda;
  auto consider = [&](int l, int r) {
    if (l < 0 || r < 0) return;
    auto it = vocab_.find(sym[static_cast<size_t>(l)].text + sym[static_cast<size_t>(r)].text);
    if (it == vocab_.end()) return;
    agenda.push({pieces_[static_cast<size_t>(it->second)].score, l, r, sym[static_cast<size_t>(l)].text.size() + sym[static_cast<size_t>(r)].text.size()});
  };
  for (size_t i = 0; i + 1 < sym.size(); ++i) consider(static_cast<int>(i), static_cast<int>(i + 1));
  while (!agenda.empty()) {
    const Pair p = agenda.top();
    agenda.pop();
    Sym& l = sym[static_cast<size_t>(p.left)];
    Sym& r = sym[static_cast<size_t>(p.right)];
    if (!l.alive || !r.alive || l.next != p.right || l.text.size() + r.text.size() != p.size) continue;  // stale
    l.text += r.text;
    r.alive = false;
    l.next = r.next;
    if (r.next >= 0) sym[static_cast<size_t>(r.next)].prev = p.left;
    consider(l.prev, p.left);
    consider(p.left, l.next);
  }
  bool prev_unk = false;
  for (int i = 0; i >= 0; i = sym[static_cast<size_t>(i)].next) emit(sym[static_cast<size_t>(i)].text, out, prev_unk);
  return out;
}

// A piece's text as decoding shows it: a byte piece is its byte, an unknown piece " ⁇ ", any
// other its text with U+2581 as a space (in the piece's own text only: bytes from byte pieces
// are never reinterpreted, as in SentencePiece's decoder).
std::string SentencePiece::shown(const Piece& p) {
  if (p.type == kByte) return p.text.size() == 6 ? std::string(1, static_cast<char>(std::stoi(p.text.substr(3, 2), nullptr, 16))) : std::string("\xEF\xBF\xBD");
  if (p.type == kUnknown) return " \xE2\x81\x87 ";
  std::string out;
  for (size_t i = 0; i < p.text.size();) {
    if (p.text.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += p.text[i++];
    }
  }
  return out;
}

bool SentencePiece::append_piece(std::int64_t id, bool at_start, std::string& out) const {
  if (id < 0 || id >= vocab_size()) {
    out += "\xEF\xBF\xBD";
    return true;
  }
  const size_t i = static_cast<size_t>(id);
  if (pieces_[i].type == kControl) return false;
  const std::string& text = shown_[i];
  // The dummy prefix: the first piece's leading U+2581 (a space in its own text) is dropped.
  const bool drop = at_start && spec_.add_dummy_prefix && pieces_[i].type != kByte && pieces_[i].type != kUnknown &&
                    pieces_[i].text.compare(0, kSpace.size(), kSpace) == 0;
  out.append(text, drop ? 1 : 0, std::string::npos);
  return true;
}

}  // namespace

Result<std::unique_ptr<Tokenizer>> parse_sentencepiece(ByteView model_proto, const std::string& what) {
  std::vector<Piece> pieces;
  Spec spec;
  Wire w(model_proto);
  Field f;
  while (!w.done()) {
    if (!w.next(f)) return bad(what, "not a SentencePiece model (protobuf framing broken)", "model");
    if (f.wire != 2) continue;
    if (f.number == 1) {
      Piece p;
      if (!parse_piece(f.bytes, p)) return bad(what, "piece " + std::to_string(pieces.size()) + " is malformed", "pieces");
      if (p.type < kNormal || p.type > kByte) return bad(what, "piece " + std::to_string(pieces.size()) + " has an unknown type", "pieces");
      if (p.type == kByte && (p.text.size() != 6 || p.text.compare(0, 3, "<0x") != 0 || p.text[5] != '>' ||
                              !std::isxdigit(static_cast<unsigned char>(p.text[3])) || !std::isxdigit(static_cast<unsigned char>(p.text[4])))) {
        return bad(what, "byte piece '" + p.text + "' is not <0xXX>", "pieces");
      }
      pieces.push_back(std::move(p));
      if (pieces.size() > (1u << 21)) return bad(what, "more than 2^21 pieces", "pieces");
    } else if (f.number == 2 && !parse_trainer(f.bytes, spec)) {
      return bad(what, "trainer_spec is malformed", "trainer_spec");
    } else if (f.number == 3 && !parse_normalizer(f.bytes, spec)) {
      return bad(what, "normalizer_spec is malformed", "normalizer_spec");
    }
  }
  if (pieces.empty()) return bad(what, "no pieces: not a SentencePiece model", "pieces");
  if (spec.model_type != 2) return bad(what, "only BPE SentencePiece models are supported (this one is type " + std::to_string(spec.model_type) + ")", "model_type");
  if (spec.has_charsmap || (spec.normalizer != "identity" && !spec.normalizer.empty())) {
    return bad(what, "normalizer '" + spec.normalizer + "' is not supported (identity only)", "normalizer_spec");
  }
  if (spec.unk < 0 || spec.unk >= static_cast<std::int64_t>(pieces.size())) return bad(what, "unk_id is outside the vocabulary", "unk_id");
  if (spec.byte_fallback) {
    int bytes = 0;
    for (const auto& p : pieces) bytes += p.type == kByte;
    if (bytes != 256) return bad(what, "byte_fallback needs 256 byte pieces, found " + std::to_string(bytes), "pieces");
  }
  return std::unique_ptr<Tokenizer>(new SentencePiece(std::move(pieces), std::move(spec)));
}

}  // namespace cci::infer
