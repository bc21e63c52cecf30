// Model files without libtorch: safetensors (single and sharded, every malformation the
// reference parser refuses), config.json (shapes, limits before allocation), llama2.c.
#include <doctest/doctest.h>

#include <cstring>

#include "base/byte_reader.h"
#include "infer/llama2c.h"
#include "infer/model_config.h"
#include "infer/safetensors.h"
#include "infer/verified_model.h"
#include "crypto/keys.h"
#include "manifest/file_tree.h"
#include "manifest/opened_model.h"
#include "support/tiny_models.h"

using namespace cci;
using namespace cci::infer;

namespace {

Bytes f32s(std::initializer_list<float> v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), std::data(v), b.size());
  return b;
}

// A safetensors image from a literal header and buffer.
Bytes image(const std::string& header, const Bytes& buffer) {
  Bytes out;
  out.reserve(8 + header.size() + buffer.size());  // (one allocation; GCC 12 -O3 misjudges growth from 8 bytes)
  out.resize(8);
  put_le(out, 0, header.size(), 8);
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), buffer.begin(), buffer.end());
  return out;
}

std::string parse_error(const Bytes& file) {
  auto r = parse_safetensors(file, "t.safetensors");
  REQUIRE_FALSE(r);
  return r.error().message;
}

const std::string kA = R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";
const std::string kB = R"("b":{"dtype":"BF16","shape":[2,1],"data_offsets":[8,12]})";

}  // namespace

TEST_CASE("safetensors: written and read back, views into the buffer") {
  test::TempDir tmp;
  std::map<std::string, OwnedTensor> t;
  t["x"] = OwnedTensor{DType::kF32, {2, 2}, f32s({1, 2, 3, 4})};
  t["y"] = OwnedTensor{DType::kU8, {3}, Bytes{7, 8, 9}};
  t["z"] = OwnedTensor{DType::kF32, {0}, Bytes{}};
  REQUIRE(write_safetensors(tmp.str("m.safetensors"), t, {{"format", "pt"}}));
  auto w = load_safetensors(tmp.str("m.safetensors"));
  REQUIRE_MESSAGE(w, w.error().message);
  REQUIRE(w->find("x"));
  CHECK(w->find("x")->shape == std::vector<std::int64_t>{2, 2});
  CHECK(Bytes(w->find("x")->data.begin(), w->find("x")->data.end()) == f32s({1, 2, 3, 4}));
  CHECK(Bytes(w->find("y")->data.begin(), w->find("y")->data.end()) == Bytes{7, 8, 9});
  CHECK(w->find("z")->numel() == 0);
  CHECK(reinterpret_cast<std::uintptr_t>(w->find("x")->data.data()) % 8 == 0);  // header padded to 8
  CHECK(parse_safetensors(image("{" + kA + "," + kB + "}", Bytes(12, 0)), "t"));
}

TEST_CASE("safetensors: malformed files are refused with the field named") {
  const Bytes buf(12, 0);
  CHECK(parse_error(Bytes{1, 2, 3}).find("shorter than the 8-byte header length") != std::string::npos);
  Bytes big = image("{" + kA + "}", Bytes(8, 0));
  put_le(big, 0, 1000, 8);
  CHECK(parse_error(big).find("header length 1000 runs past the end") != std::string::npos);
  Bytes truncated = image("{" + kA + "," + kB + "}", buf);
  truncated.resize(truncated.size() - 3);
  CHECK(parse_error(truncated).find("lie outside") != std::string::npos);
  CHECK(parse_error(image("{" + kA + R"(,"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[6,10]}})", Bytes(10, 0))).find("overlaps") !=
        std::string::npos);
  CHECK(parse_error(image("{" + kA + R"(,"b":{"dtype":"BF16","shape":[2,1],"data_offsets":[10,14]}})", Bytes(14, 0))).find("a gap of 2 bytes") !=
        std::string::npos);
  CHECK(parse_error(image("{" + kA + "}", Bytes(12, 0))).find("4 bytes after the last tensor") != std::string::npos);
  CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", Bytes(8, 0))).find("need 12") != std::string::npos);
  CHECK(parse_error(image(R"({"a":{"dtype":"F8","shape":[8],"data_offsets":[0,8]}})", Bytes(8, 0))).find("unknown dtype") != std::string::npos);
  CHECK(parse_error(image("{" + kA + "," + kA + "}", Bytes(8, 0))).find("names 'a' twice") != std::string::npos);
  CHECK(parse_error(image(R"({"__metadata__":{"n":1}})", {})).find("__metadata__") != std::string::npos);
  CHECK(parse_error(image("{not json", {})).find("not valid JSON") != std::string::npos);
  CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[1099511627776,1099511627776],"data_offsets":[0,8]}})", Bytes(8, 0)))
            .find("absurdly large") != std::string::npos);
  CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", Bytes(8, 0))).find("outside") != std::string::npos);
  CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[2]}})", Bytes(8, 0))).find("exactly dtype, shape and data_offsets") != std::string::npos);
}

TEST_CASE("safetensors: sharded checkpoints through model.safetensors.index.json") {
  test::TempDir tmp;
  std::map<std::string, OwnedTensor> s1, s2;
  s1["a"] = OwnedTensor{DType::kF32, {1}, f32s({1})};
  s2["b"] = OwnedTensor{DType::kF32, {1}, f32s({2})};
  REQUIRE(write_safetensors(tmp.str("s1.safetensors"), s1));
  REQUIRE(write_safetensors(tmp.str("s2.safetensors"), s2));
  test::write_text(tmp.path() / "model.safetensors.index.json", R"({"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  std::vector<std::string> seen;
  auto w = load_safetensors(tmp.str(), [&](const std::string& name, ByteView) {
    seen.push_back(name);
    return Status{};
  });
  REQUIRE_MESSAGE(w, w.error().message);
  CHECK(w->tensors.size() == 2);
  CHECK(seen == std::vector<std::string>{"s1.safetensors", "s2.safetensors"});
  SUBCASE("the mapped-file check can refuse a shard") {
    auto r = load_safetensors(tmp.str(), [](const std::string& name, ByteView) -> Status {
      if (name == "s2.safetensors") return make_error(ErrorCode::kVerificationFailed, "digest mismatch", name);
      return {};
    });
    REQUIRE_FALSE(r);
    CHECK(r.error().field == "s2.safetensors");
  }
  SUBCASE("an index naming a tensor its shard lacks") {
    test::write_text(tmp.path() / "model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors","b":"s1.safetensors"}})");
    CHECK(load_safetensors(tmp.str()).error().message.find("'b' is in the index but not in its shard") != std::string::npos);
  }
  SUBCASE("a shard outside the directory") {
    test::write_text(tmp.path() / "model.safetensors.index.json", R"({"weight_map":{"a":"../s1.safetensors"}})");
    CHECK(load_safetensors(tmp.str()).error().field == "a");
  }
  SUBCASE("a tensor in two shards") {
    REQUIRE(write_safetensors(tmp.str("s2.safetensors"), s1));
    test::write_text(tmp.path() / "model.safetensors.index.json", R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
    CHECK(!load_safetensors(tmp.str()));
  }
  SUBCASE("a directory without weights") {
    test::TempDir empty;
    CHECK(load_safetensors(empty.str()).error().message.find("neither model.safetensors") != std::string::npos);
  }
}

TEST_CASE("config.json: Llama and GPT-2 shapes, absurd or inconsistent sizes refused before allocating") {
  auto parse = [](const std::string& s) { return parse_model_config(as_bytes(s)); };
  auto llama = parse(R"({"model_type":"llama","vocab_size":32000,"hidden_size":2048,"intermediate_size":5632,"num_hidden_layers":22,
    "num_attention_heads":32,"num_key_value_heads":4,"max_position_embeddings":2048,"rms_norm_eps":1e-5,"rope_theta":10000,
    "tie_word_embeddings":false,"bos_token_id":1,"eos_token_id":2})");
  REQUIRE_MESSAGE(llama, llama.error().message);
  CHECK(llama->head_dim == 64);
  CHECK(llama->kv_dim() == 256);
  CHECK(llama->parameter_count() > 1'000'000'000);  // TinyLlama 1.1B
  CHECK(llama->eos_ids == std::vector<std::int64_t>{2});
  auto l3 = parse(R"({"model_type":"llama","vocab_size":128256,"hidden_size":2048,"intermediate_size":8192,"num_hidden_layers":16,
    "num_attention_heads":32,"num_key_value_heads":8,"rope_theta":500000.0,"tie_word_embeddings":true,"eos_token_id":[128001,128008,128009],
    "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"}})");
  REQUIRE_MESSAGE(l3, l3.error().message);
  CHECK(l3->rope_scaling.type == "llama3");
  CHECK(l3->eos_ids.size() == 3);
  auto gpt2 = parse(R"({"model_type":"gpt2","vocab_size":50257,"n_embd":768,"n_layer":12,"n_head":12,"n_positions":1024})");
  REQUIRE_MESSAGE(gpt2, gpt2.error().message);
  CHECK(gpt2->intermediate == 3072);
  CHECK(gpt2->tied_embeddings);

  CHECK(parse(R"({"model_type":"llama","vocab_size":32000,"hidden_size":2000000000,"intermediate_size":5632,"num_hidden_layers":22,"num_attention_heads":32})")
            .error()
            .field == "hidden_size");
  CHECK(parse(R"({"model_type":"llama","vocab_size":32000,"hidden_size":65536,"intermediate_size":262144,"num_hidden_layers":1024,"num_attention_heads":32})")
            .error()
            .field == "config");  // each size allowed, the product absurd
  CHECK(parse(R"({"model_type":"llama","vocab_size":100,"hidden_size":64,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":8,"num_key_value_heads":3})")
            .error()
            .field == "num_key_value_heads");
  CHECK(parse(R"({"model_type":"llama","vocab_size":100,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":8})").error().field ==
        "intermediate_size");
  CHECK(parse(R"({"model_type":"bert"})").error().field == "model_type");
  CHECK(parse(R"({"model_type":"llama","vocab_size":-5})").error().field == "vocab_size");
  CHECK(parse("[1, 2]").error().field == "config");
  CHECK(parse(R"({"model_type":"llama","vocab_size":100,"hidden_size":64,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":8,"eos_token_id":100})")
            .error()
            .field == "eos_token_id");
  CHECK(parse(R"({"model_type":"llama","vocab_size":100,"hidden_size":64,"intermediate_size":64,"num_hidden_layers":2,"num_attention_heads":8,"rope_scaling":{"rope_type":"yarn"}})")
            .error()
            .field == "rope_scaling");
}

TEST_CASE("llama2.c: header, exact file size, tied and untied classifier") {
  test::TempDir tmp;
  for (bool shared : {true, false}) {
    test::TinyShape s;
    s.shared = shared;
    Bytes b = test::tiny_llama2c(s, 1);
    REQUIRE(write_file_atomic(tmp.str("m.bin"), b));
    auto c = load_llama2c(tmp.str("m.bin"));
    REQUIRE_MESSAGE(c, c.error().message);
    CHECK(c->config.tied_embeddings == shared);
    CHECK(c->config.rope_style == RopeStyle::kInterleaved);
    CHECK((c->weights.find("lm_head.weight") != nullptr) == !shared);
    CHECK(c->weights.find("model.layers.1.mlp.down_proj.weight")->shape == std::vector<std::int64_t>{32, 48});
    Bytes cut(b.begin(), b.end() - 4);
    REQUIRE(write_file_atomic(tmp.str("cut.bin"), cut));
    CHECK(load_llama2c(tmp.str("cut.bin")).error().field == "file size");
    Bytes more = b;
    more.push_back(0);
    REQUIRE(write_file_atomic(tmp.str("more.bin"), more));
    CHECK(load_llama2c(tmp.str("more.bin")).error().field == "file size");
  }
  Bytes absurd = test::tiny_llama2c({}, 1);
  put_le(absurd, 8, 100000, 4);  // n_layers
  REQUIRE(write_file_atomic(tmp.str("absurd.bin"), absurd));
  CHECK(load_llama2c(tmp.str("absurd.bin")).error().field == "n_layers");
  REQUIRE(write_file_atomic(tmp.str("tiny.bin"), Bytes(10, 0)));
  CHECK_FALSE(load_llama2c(tmp.str("tiny.bin")));
}

namespace {

struct SignedTinyModel {
  test::TempDir tmp;
  std::string dir = tmp.str("model");
  crypto::PrivateKey key;
  std::string bundle;
  SignedTinyModel() : key(*crypto::generate_key(crypto::KeyType::kEcP256)) {
    std::filesystem::create_directories(dir);
    REQUIRE(write_file_atomic(tmp.str("m.bin"), test::tiny_llama2c({}, 3)));
    auto c = load_llama2c(tmp.str("m.bin"));
    REQUIRE(c);
    test::write_hf_copy(*c, dir);
    test::write_text(std::filesystem::path(dir) / "README.md", "tiny\n");
    resign();
  }
  void resign() {
    manifest::ModelSource src;
    src.dir = dir;
    auto files = manifest::list_model_files(dir, {});
    REQUIRE(files);
    auto s = manifest::sign_model(src, *files, {}, key);
    REQUIRE_MESSAGE(s, s.error().message);
    bundle = s->bundle_json;
  }
  Result<LoadedModel> load() const {
    manifest::VerifyModelOptions o;
    o.public_key = key.public_key();
    o.at = std::time(nullptr);
    return load_verified_model(dir, as_bytes(bundle), std::move(o));
  }
};

}  // namespace

TEST_CASE("verified loading: every file checked as it is read, a changed, missing or extra file is named") {
  SignedTinyModel m;
  auto ok = m.load();
  REQUIRE_MESSAGE(ok, ok.error().message);
  CHECK(ok->weights->find("model.norm.weight"));
  SUBCASE("a weight byte flipped") {
    Bytes w = test::slurp(std::filesystem::path(m.dir) / "model.safetensors");
    w[w.size() - 5] ^= 1;
    REQUIRE(write_file_atomic(m.dir + "/model.safetensors", w));
    auto r = m.load();
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kVerificationFailed);
    CHECK(r.error().field == "model.safetensors");
  }
  SUBCASE("config.json changed") {
    test::write_text(std::filesystem::path(m.dir) / "config.json", "{}");
    CHECK(m.load().error().field == "config.json");
  }
  SUBCASE("a file removed") {
    std::filesystem::remove(std::filesystem::path(m.dir) / "README.md");
    CHECK(m.load().error().message.find("README.md: missing") != std::string::npos);
  }
  SUBCASE("a file added") {
    test::write_text(std::filesystem::path(m.dir) / "extra.txt", "x");
    CHECK(m.load().error().message.find("extra.txt: extra file") != std::string::npos);
  }
  SUBCASE("another signer") {
    manifest::VerifyModelOptions o;
    o.public_key = crypto::generate_key(crypto::KeyType::kEcP256)->public_key();
    o.at = std::time(nullptr);
    auto r = load_verified_model(m.dir, as_bytes(m.bundle), std::move(o));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::kVerificationFailed);
  }
}

namespace {

manifest::oms::Statement statement_of(const SignedTinyModel& m) {
  auto b = manifest::oms::parse_bundle(as_bytes(m.bundle));
  REQUIRE(b);
  auto st = manifest::oms::parse_statement(b->payload);
  REQUIRE(st);
  return *st;
}

}  // namespace

TEST_CASE("verified loading reads every file once: a file swapped on disk after opening changes nothing") {
  SignedTinyModel m;
  const auto st = statement_of(m);
  auto files = manifest::OpenedModel::open(m.dir, tree_options_for(st));
  REQUIRE(files);
  const Bytes signed_config = test::slurp(std::filesystem::path(m.dir) / "config.json");
  // The host renames other files over the checked ones (the attack on a second open by path).
  test::write_text(std::filesystem::path(m.dir) / "config.json.new", "{\"num_hidden_layers\": 99}");
  std::filesystem::rename(std::filesystem::path(m.dir) / "config.json.new", std::filesystem::path(m.dir) / "config.json");
  Bytes other = test::slurp(std::filesystem::path(m.dir) / "model.safetensors");
  other[other.size() - 1] ^= 1;
  REQUIRE(write_file_atomic(m.dir + "/model.safetensors", other));
  for (int i = 0; i < 3; ++i) {  // deterministic: the signed bytes, every time
    auto r = load_verified_model(*files, st);
    REQUIRE_MESSAGE(r, r.error().message);
    CHECK(r->config.layers == parse_model_config(signed_config, "config.json")->layers);
    CHECK(r->weights->find("model.norm.weight"));
  }
  // Opened again now, the swapped files are what the manifest does not sign.
  auto again = manifest::OpenedModel::open(m.dir, tree_options_for(st));
  REQUIRE(again);
  auto r = load_verified_model(*again, st);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == ErrorCode::kVerificationFailed);
}

TEST_CASE("verified loading: a checked file rewritten in place before use is refused, never used") {
  SignedTinyModel m;
  const auto st = statement_of(m);
  auto files = manifest::OpenedModel::open(m.dir, tree_options_for(st));
  REQUIRE(files);
  // Same inode, new content: what a descriptor cannot defend against (docs/security.md: dm-verity).
  std::FILE* f = std::fopen((m.dir + "/config.json").c_str(), "r+b");
  REQUIRE(f);
  std::fputc(' ', f);
  std::fclose(f);
  auto r = load_verified_model(*files, st);
  REQUIRE_FALSE(r);
  CHECK(r.error().field == "config.json");
}

TEST_CASE("verified loading: a symbolic link put in place of a file, or a file replaced while opening, is refused") {
  SignedTinyModel m;
  const auto st = statement_of(m);
  std::filesystem::rename(std::filesystem::path(m.dir) / "README.md", m.tmp.path() / "README.md");
  std::filesystem::create_symlink(m.tmp.path() / "README.md", std::filesystem::path(m.dir) / "README.md");
  auto files = manifest::OpenedModel::open(m.dir, tree_options_for(st));
  REQUIRE_FALSE(files);
  CHECK(files.error().field == "README.md");
}

TEST_CASE("verified loading: shard bundles are checked shard by shard on the mappings that are used") {
  SignedTinyModel m;
  manifest::ModelSource src;
  src.dir = m.dir;
  auto listed = manifest::list_model_files(m.dir, {});
  REQUIRE(listed);
  manifest::HashConfig cfg;
  cfg.method = manifest::Method::kShards;
  cfg.shard_size = 64;
  auto s = manifest::sign_model(src, *listed, cfg, m.key);
  REQUIRE(s);
  m.bundle = s->bundle_json;
  auto ok = m.load();
  REQUIRE_MESSAGE(ok, ok.error().message);
  CHECK(ok->weights->find("model.norm.weight"));
  Bytes w = test::slurp(std::filesystem::path(m.dir) / "model.safetensors");
  w[w.size() - 3] ^= 1;
  REQUIRE(write_file_atomic(m.dir + "/model.safetensors", w));
  auto bad = m.load();
  REQUIRE_FALSE(bad);
  CHECK(bad.error().field == "model.safetensors");
  CHECK(bad.error().message.find("shard") != std::string::npos);
  w[w.size() - 3] ^= 1;  // the signed content again, one byte longer: a range the bundle does not sign
  for (int i = 0; i < 64; ++i) w.push_back(0);
  REQUIRE(write_file_atomic(m.dir + "/model.safetensors", w));
  auto longer = m.load();
  REQUIRE_FALSE(longer);
  CHECK_MESSAGE(longer.error().message.find("size differs") != std::string::npos, longer.error().message);
}
