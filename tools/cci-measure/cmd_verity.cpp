// cci-measure verity IMAGE: the dm-verity root hash, as `veritysetup format` computes it.
#include <memory>

#include "base/hex.h"
#include "cli/env.h"
#include "cli/progress.h"
#include "commands.h"
#include "crypto/random.h"
#include "launch/verity.h"

namespace cci::tools::measure {
namespace {

struct VerityOptions {
  std::string image;
  std::optional<std::string> hash_file;
  std::optional<std::string> salt;
  std::string hash = "sha256";
  std::uint32_t data_block_size = 4096;
  std::uint32_t hash_block_size = 4096;
  std::uint32_t format = 1;
  std::optional<std::string> uuid;
  bool no_superblock = false;
  unsigned threads = 0;
};

Result<std::array<std::uint8_t, 16>> parse_uuid(const std::optional<std::string>& text) {
  std::array<std::uint8_t, 16> out{};
  if (!text) {
    auto r = crypto::random_bytes(16);
    if (!r) return r.error();
    std::copy(r->begin(), r->end(), out.begin());
    out[6] = static_cast<std::uint8_t>((out[6] & 0x0f) | 0x40);  // RFC 4122 version 4
    out[8] = static_cast<std::uint8_t>((out[8] & 0x3f) | 0x80);
    return out;
  }
  std::string hex;
  for (char c : *text) {
    if (c != '-') hex.push_back(c);
  }
  auto b = from_hex(hex, "--uuid", 16);
  if (!b || text->size() != 36) return make_error(ErrorCode::kUsage, "--uuid must look like 01234567-89ab-cdef-0123-456789abcdef", "uuid");
  std::copy(b->begin(), b->end(), out.begin());
  return out;
}

std::string uuid_text(const std::array<std::uint8_t, 16>& u) {
  std::string h = to_hex(u);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

Result<launch::VerityParams> to_params(const VerityOptions& o) {
  launch::VerityParams p;
  auto alg = crypto::digest_from_name(o.hash);
  if (!alg) return make_error(ErrorCode::kUsage, "--hash must be sha256 or sha512", "hash");
  p.hash = *alg;
  p.data_block_size = o.data_block_size;
  p.hash_block_size = o.hash_block_size;
  p.format = o.format;
  if (!o.salt) {
    auto r = crypto::random_bytes(32);  // veritysetup's default: a random 32-byte salt
    if (!r) return r.error();
    p.salt = std::move(*r);
  } else if (*o.salt != "-") {
    auto s = from_hex(*o.salt, "--salt");
    if (!s) return make_error(ErrorCode::kUsage, s.error().message, "salt");
    p.salt = std::move(*s);
  }
  auto u = parse_uuid(o.uuid);
  if (!u) return u.error();
  p.uuid = *u;
  p.superblock = !o.no_superblock;
  p.threads = o.threads;
  return p;
}

int run_verity(const VerityOptions& o, const cli::Context& ctx) {
  const std::string schema = "cci.measure.verity.v1";
  if (o.hash_file && *o.hash_file == "-") {
    return ctx.fail(make_error(ErrorCode::kUsage, "--hash-file needs a file: the hash tree is written bottom-up with seeks, not as a stream", "hash-file"), schema);
  }
  auto p = to_params(o);
  if (!p) return ctx.fail(p.error(), schema);
  std::error_code ec;
  auto size = std::filesystem::file_size(o.image, ec);
  cli::Progress progress(ctx.progress_enabled(), "hashing", ec ? 0 : size);
  p->on_bytes = [&progress](std::uint64_t n) { progress.add(n); };
  p->cancel = &ctx.interrupted();
  auto r = launch::verity_format(o.image, *p, o.hash_file);
  progress.finish();
  if (!r) return ctx.fail(r.error(), schema);
  const std::string salt = p->salt.empty() ? "-" : to_hex(p->salt);
  if (ctx.options().json) {
    cli::Json body{{"result", "ok"},          {"image", o.image},
                   {"root_hash", to_hex(r->root)}, {"salt", salt},
                   {"hash", o.hash},           {"data_block_size", p->data_block_size},
                   {"hash_block_size", p->hash_block_size}, {"format", p->format},
                   {"data_blocks", r->data_blocks}, {"hash_blocks", r->hash_blocks},
                   {"uuid", uuid_text(p->uuid)}};
    if (o.hash_file) body["hash_file"] = *o.hash_file;
    ctx.out_json(schema, 0, body);
    return 0;
  }
  // The same lines as `veritysetup format`, so scripts can switch tools.
  ctx.out("VERITY header information for " + o.hash_file.value_or(o.image));
  if (o.hash_file && p->superblock) ctx.out("UUID:            \t" + uuid_text(p->uuid));
  ctx.out("Hash type:       \t" + std::to_string(p->format));
  ctx.out("Data blocks:     \t" + std::to_string(r->data_blocks));
  ctx.out("Data block size: \t" + std::to_string(p->data_block_size));
  ctx.out("Hash block size: \t" + std::to_string(p->hash_block_size));
  ctx.out("Hash algorithm:  \t" + o.hash);
  ctx.out("Salt:            \t" + salt);
  ctx.out("Root hash:      \t" + to_hex(r->root));
  return 0;
}

}  // namespace

void add_verity(CLI::App& app, cli::Context& ctx, std::function<int()>& action) {
  auto o = std::make_shared<VerityOptions>();
  o->threads = cli::env_threads();
  auto* sub = app.add_subcommand("verity", "Compute the dm-verity root hash of a disk image (as veritysetup format)");
  sub->footer(
      "Identical to `veritysetup format` for the same salt, block sizes, hash and format; the hash\n"
      "device written with --hash-file is byte-for-byte what veritysetup writes. Put the root hash on\n"
      "the kernel command line (e.g. roothash=...) and the launch measurement then covers the image.\n"
      "Without --salt a random 32-byte salt is used and printed (record it to reproduce the hash).\n"
      "Examples:\n"
      "  cci-measure verity model.img --salt - \n"
      "  cci-measure verity rootfs.img --hash-file rootfs.verity --salt $(openssl rand -hex 32)\n"
      "  cci-measure verity model.img --salt 00...00 --json | jq -r .root_hash");
  sub->add_option("image", o->image, "Data image (size a multiple of the data block size)")->required();
  sub->add_option("--hash-file", o->hash_file, "Write the hash device (superblock + tree) to FILE, atomically");
  sub->add_option("--salt", o->salt, "Salt in hex, or - for none (default: 32 random bytes)");
  sub->add_option("--hash", o->hash, "Hash algorithm")->check(CLI::IsMember({"sha256", "sha512"}))->capture_default_str();
  sub->add_option("--data-block-size", o->data_block_size, "Data block size in bytes")->capture_default_str();
  sub->add_option("--hash-block-size", o->hash_block_size, "Hash block size in bytes")->capture_default_str();
  sub->add_option("--format", o->format, "Format version: 1 (normal) or 0 (Chrome OS)")->capture_default_str();
  sub->add_option("--uuid", o->uuid, "Superblock UUID (default: random)");
  sub->add_flag("--no-superblock", o->no_superblock, "Write the hash tree without the superblock");
  sub->add_option("-j,--threads", o->threads, "Hashing threads (default: CCI_THREADS or all CPUs)");
  sub->callback([o, &ctx, &action] { action = [o, &ctx] { return run_verity(*o, ctx); }; });
}

}  // namespace cci::tools::measure
