// Launch digests against the reference outputs in shared vectors/measure/README.md
// (sev-snp-measure @8f2b337), and hostile firmware / arguments.
#include <doctest/doctest.h>

#include <algorithm>

#include <string>
#include <vector>

#include "base/hex.h"
#include "launch/launch_digest.h"
#include "launch/ovmf.h"
#include "launch/sev_launch_measure.h"
#include "launch/vmsa.h"
#include "launch/synthetic_ovmf.h"
#include "support/vectors.h"

using namespace cci;
using namespace cci::launch;
namespace fs = std::filesystem;

namespace {

// One row of the README tables, in sev-snp-measure's own argument spelling.
struct Row {
  const char* label;
  Mode mode;
  const char* ovmf;  // file name in vectors/measure/snp
  unsigned vcpus;
  const char* kernel;  // nullptr: no --kernel; "/dev/null" or a vector file name
  const char* initrd;
  const char* append;  // nullptr: no --append
  std::uint64_t features;
  VmmType vmm;
  const char* expected;
};

constexpr std::uint64_t kDef = kDefaultGuestFeatures;
constexpr const char* kF = "ovmf_AmdSev_suffix.bin";
constexpr const char* kS = "synth-ovmf.bin";
constexpr const char* kNull = "/dev/null";

const Row kRows[] = {
    {"F ovmf-hash", Mode::kSnpOvmfHash, kF, 0, nullptr, nullptr, nullptr, kDef, VmmType::kQemu,
     "086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74"},
    {"F snp kernel 0x21", Mode::kSnp, kF, 1, kNull, kNull, "console=ttyS0 loglevel=7", 0x21, VmmType::kQemu,
     "803f691094946e42068aaa3a8f9e26a5c89f36f7b73ecfb28c653360fe4b3aba7e534442e7e1e17895dfe778d0228977"},
    {"F snp kernel default features", Mode::kSnp, kF, 1, kNull, kNull, "console=ttyS0 loglevel=7", kDef, VmmType::kQemu,
     "6d287813eb5222d770f75005c664e34c204f385ce832cc2ce7d0d6f354454362f390ef83a92046c042e706363b4b08fa"},
    {"F snp no kernel 0x21", Mode::kSnp, kF, 1, nullptr, nullptr, nullptr, 0x21, VmmType::kQemu,
     "e1e1ca029dd7973ab9513295be68198472dcd4fc834bd9af9b63f6e8a1674dbf281a9278a4a2ebe0eed9f22adbcd0e2b"},
    {"F snp no kernel", Mode::kSnp, kF, 1, nullptr, nullptr, nullptr, kDef, VmmType::kQemu,
     "19358ba9a7615534a9a1e2f0dfc29384dcd4dcb7062ff9c6013b26869a5fc6ecabe033c48dd6f6db5d6d76e7c5df632d"},
    {"F snp 4 vcpus", Mode::kSnp, kF, 4, kNull, kNull, "", 0x21, VmmType::kQemu,
     "4953b1fb416fa874980e8442b3706d345926d5f38879134e00813c5d7abcbe78eafe7b422907be0b4698e2414a631942"},
    {"OvmfX64 snp", Mode::kSnp, "ovmf_OvmfX64_suffix.bin", 1, nullptr, nullptr, nullptr, kDef, VmmType::kQemu,
     "da0296de8193586a5512078dcd719eccecbd87e2b825ad4148c44f665dc87df21e5b49e21523a9ad993afdb6a30b4005"},
    {"F snp ec2", Mode::kSnp, kF, 1, kNull, kNull, "", kDef, VmmType::kEc2,
     "0883bd0eeb716e65b7b977a321c278d1e51b33b5c655fab985443bbcc65c086b9c15e8a0bd8811050dec7e24964e5056"},
    {"F snp gce 4 vcpus", Mode::kSnp, kF, 4, kNull, kNull, "", kDef, VmmType::kGce,
     "5c5debf100fc339f90276e761ee1f1658d08922c3b20e2a2e6c7a6c3370b2452a15a00eae11886a93d6fd1e7ab81e29d"},
    {"F seves", Mode::kSevEs, kF, 1, kNull, kNull, "", kDef, VmmType::kQemu,
     "13810ae661ea11e2bb205621f582fee268f0367c8f97bc297b7fadef3e12002c"},
    {"F sev append", Mode::kSev, kF, 0, kNull, kNull, "console=ttyS0 loglevel=7", kDef, VmmType::kQemu,
     "82a3ee5d537c3620628270c292ae30cb40c3c878666a7890ee7ef2a08fb535ff"},
    {"F sev kernel only", Mode::kSev, kF, 0, kNull, nullptr, nullptr, kDef, VmmType::kQemu,
     "77f613d7bbcdf12a73782ea9e88b0172aeda50d1a54201cb903594ff52846898"},
    {"S ovmf-hash", Mode::kSnpOvmfHash, kS, 0, nullptr, nullptr, nullptr, kDef, VmmType::kQemu,
     "bdf1ff1192293584c9fc1cb8b842d33bb1fc53fbf8009dc5a2f90b175b34245ff62cd8821dc952a4ee128cc4718fb801"},
    {"S snp", Mode::kSnp, kS, 1, nullptr, nullptr, nullptr, kDef, VmmType::kQemu,
     "5a01273fc20d02f3b1ab4ad1af2ffd4924bbcd7a4465f4d3a1be0d803b7caf2e40b33edc98d173da94e5c9605cbcdde3"},
    {"S snp 2 vcpus kernel", Mode::kSnp, kS, 2, "k.bin", "i.bin", "console=ttyS0", kDef, VmmType::kQemu,
     "f34bff88dd0a19e23e29510e30ec3086b7c97a4ce25f1e372e67268c074f36b01bad307f001a4e3a40c4bdcb94bb907b"},
    {"S seves 2 vcpus kernel", Mode::kSevEs, kS, 2, "k.bin", "i.bin", "console=ttyS0", kDef, VmmType::kQemu,
     "d3b1c2ba5bb55dbd92dae92d2e8ab9eb97baa46cc4f17df8b567eadf404b4665"},
    {"S sev kernel", Mode::kSev, kS, 0, "k.bin", "i.bin", "console=ttyS0", kDef, VmmType::kQemu,
     "e5bcc918115e55ce9550cb1817c7023141091941e31ecf74dbb845d84e6a7b8c"},
};

std::string vec_path(const fs::path& dir, const char* name) {
  std::string n(name);
  return n.front() == '/' ? n : (dir / n).string();
}

LaunchConfig config_for(const Row& row, const fs::path& dir) {
  LaunchConfig c;
  c.mode = row.mode;
  c.ovmf = vec_path(dir, row.ovmf);
  if (row.kernel) c.kernel = vec_path(dir, row.kernel);
  if (row.initrd) c.initrd = vec_path(dir, row.initrd);
  if (row.append) c.append = row.append;
  c.vcpus = row.vcpus;
  c.vcpu_sig = *vcpu_type_signature("EPYC-v4");
  c.guest_features = row.features;
  c.vmm = row.vmm;
  return c;
}

Result<LaunchDigest> synth_digest(const Bytes& image, LaunchConfig c, const test::TempDir& tmp) {
  test::write_text(tmp.path() / "fw.bin", std::string(as_chars(image)));
  c.ovmf = tmp.str("fw.bin");
  return compute_launch_digest(c);
}

LaunchConfig snp_config(unsigned vcpus = 1) {
  LaunchConfig c;
  c.mode = Mode::kSnp;
  c.vcpus = vcpus;
  c.vcpu_sig = *vcpu_type_signature("EPYC-v4");
  return c;
}

}  // namespace

TEST_CASE("every row of the launch-digest tables reproduces") {
  auto dir = test::require_vectors("measure/snp");
  for (const auto& row : kRows) {
    CAPTURE(row.label);
    auto d = compute_launch_digest(config_for(row, dir));
    REQUIRE_MESSAGE(d, (d ? "" : d.error().message));
    CHECK(to_hex(d->digest) == row.expected);
  }
}

TEST_CASE("a precomputed OVMF hash gives the same SNP digest as the firmware") {
  auto dir = test::require_vectors("measure/snp");
  LaunchConfig c = config_for(kRows[1], dir);
  c.snp_ovmf_hash = *from_hex("086e2e9149ebf45abdc3445fba5b2da8270bdbb04094d7a2c37faaa4b24af3aa16aff8c374c2a55c467a50da6d466b74", "hash");
  auto d = compute_launch_digest(c);
  REQUIRE(d);
  CHECK(to_hex(d->digest) == kRows[1].expected);
}

TEST_CASE("the generated synthetic image equals the vector file") {
  auto dir = test::require_vectors("measure/snp");
  CHECK(synthetic_ovmf() == test::slurp(dir / "synth-ovmf.bin"));
}

TEST_CASE("the synthetic image parses into its table and sections") {
  auto fw = parse_ovmf(synthetic_ovmf());
  REQUIRE(fw);
  CHECK(fw->has_footer_table);
  CHECK(fw->sev_es_reset_eip() == 0x0080B004u);
  CHECK(fw->hashes_table_gpa() == 0x804C00u);
  REQUIRE(fw->sections.size() == 4);
  CHECK(fw->sections[3].type == 0x10);
  CHECK(fw->gpa() == 0x100000000ULL - 8192);
}

TEST_CASE("vCPU signatures follow the CPUID encoding") {
  CHECK(*vcpu_type_signature("EPYC-v4") == 0x800f12u);
  CHECK(*vcpu_type_signature("EPYC-Rome") == 0x830f10u);
  CHECK(*vcpu_type_signature("EPYC-Milan-v2") == 0xa00f11u);
  CHECK(*vcpu_type_signature("EPYC-Genoa") == 0xa10f10u);
  CHECK(*vcpu_type_signature("EPYC-Turin") == 0xb00f00u);
  CHECK_FALSE(vcpu_type_signature("EPYC-Bogus"));
  CHECK(cpu_signature(25, 17, 0) == 0xa10f10u);
  CHECK(vmm_type_from_name("QEMU") == VmmType::kQemu);
  CHECK_FALSE(vmm_type_from_name("xen"));
}

TEST_CASE("hashes table layout") {
  Bytes z(32, 0);
  Bytes t = build_hashes_table(z, z, z);
  CHECK(t.size() == 176);
  CHECK(t[16] == 168);
  CHECK(t[17] == 0);
}

TEST_CASE("hostile firmware is rejected with the field named") {
  test::TempDir tmp;
  SUBCASE("no footer table") {
    Bytes img(8192, 0x5a);
    auto d = synth_digest(img, snp_config(), tmp);
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find("footer table") != std::string::npos);
  }
  SUBCASE("corrupt table length") {
    SyntheticOvmfSpec s;
    s.footer_length_delta = 9000;  // longer than the image
    auto fw = parse_ovmf(synthetic_ovmf(s));
    REQUIRE_FALSE(fw);
    CHECK(fw.error().field == "footer table length");
    s.footer_length_delta = 7000;  // fits, but the walk meets garbage lengths
    fw = parse_ovmf(synthetic_ovmf(s));
    REQUIRE_FALSE(fw);
    CHECK(fw.error().field.find("footer table") == 0);
    s.footer_length_delta = 5;  // the walk then ends inside an entry
    CHECK_FALSE(parse_ovmf(synthetic_ovmf(s)));
    s.footer_length_delta = -20;
    CHECK_FALSE(parse_ovmf(synthetic_ovmf(s)));
  }
  SUBCASE("overlapping sections") {
    SyntheticOvmfSpec s;
    s.sections = {{0x800000, 0x2000, 1}, {0x801000, 0x1000, 2}};
    auto fw = parse_ovmf(synthetic_ovmf(s));
    REQUIRE_FALSE(fw);
    CHECK(fw.error().message.find("overlap") != std::string::npos);
  }
  SUBCASE("unaligned sections") {
    SyntheticOvmfSpec s;
    s.sections = {{0x800800, 0x1000, 1}};
    auto fw = parse_ovmf(synthetic_ovmf(s));
    REQUIRE_FALSE(fw);
    CHECK(fw.error().message.find("aligned") != std::string::npos);
    s.sections = {{0x800000, 0x1800, 1}};
    CHECK_FALSE(parse_ovmf(synthetic_ovmf(s)));
    s.sections = {{0x800000, 0, 1}};
    CHECK_FALSE(parse_ovmf(synthetic_ovmf(s)));
  }
  SUBCASE("unknown section type") {
    SyntheticOvmfSpec s;
    s.sections = {{0x800000, 0x1000, 0x77}};
    auto d = synth_digest(synthetic_ovmf(s), snp_config(), tmp);
    REQUIRE_FALSE(d);
    CHECK(d.error().field == "metadata section type");
  }
  SUBCASE("firmware size not a multiple of 4 KiB") {
    Bytes img = synthetic_ovmf();
    img.insert(img.begin(), 100, 0);
    auto d = synth_digest(img, snp_config(), tmp);
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find("4 KiB") != std::string::npos);
  }
  SUBCASE("empty firmware") {
    CHECK_FALSE(parse_ovmf(Bytes{}));
  }
}

TEST_CASE("impossible launch configurations are rejected") {
  test::TempDir tmp;
  test::write_text(tmp.path() / "k", "kernel");
  SUBCASE("vCPU count 0 and above 512") {
    CHECK(synth_digest(synthetic_ovmf(), snp_config(0), tmp).error().field == "vcpus");
    CHECK(synth_digest(synthetic_ovmf(), snp_config(513), tmp).error().field == "vcpus");
    CHECK(synth_digest(synthetic_ovmf(), snp_config(512), tmp));
  }
  SUBCASE("initrd that does not exist") {
    auto c = snp_config();
    c.kernel = tmp.str("k");
    c.initrd = tmp.str("no-such-initrd");
    auto d = synth_digest(synthetic_ovmf(), c, tmp);
    REQUIRE_FALSE(d);
    CHECK(d.error().code == ErrorCode::kIo);
    CHECK(d.error().message.find("no-such-initrd") != std::string::npos);
  }
  SUBCASE("command line over the kernel's limit") {
    auto c = snp_config();
    c.kernel = tmp.str("k");
    c.append = std::string(kDefaultCmdlineMax + 1, 'x');
    auto d = synth_digest(synthetic_ovmf(), c, tmp);
    REQUIRE_FALSE(d);
    CHECK(d.error().field == "append");
    c.append = std::string(kDefaultCmdlineMax, 'x');
    CHECK(synth_digest(synthetic_ovmf(), c, tmp));
  }
  SUBCASE("the bzImage header states the command-line limit") {
    Bytes kernel(0x1000, 0);
    std::copy_n("HdrS", 4, kernel.begin() + 0x202);
    kernel[0x206] = 0x0f;  // protocol 2.15
    kernel[0x207] = 0x02;
    kernel[0x238] = 100;  // cmdline_size
    test::write_text(tmp.path() / "bz", std::string(as_chars(kernel)));
    auto c = snp_config();
    c.kernel = tmp.str("bz");
    c.append = std::string(101, 'x');
    CHECK_FALSE(synth_digest(synthetic_ovmf(), c, tmp));
    c.append = std::string(100, 'x');
    CHECK(synth_digest(synthetic_ovmf(), c, tmp));
  }
  SUBCASE("kernel for firmware without a hashes table") {
    SyntheticOvmfSpec s;
    s.with_hash_table = false;
    for (Mode m : {Mode::kSnp, Mode::kSev, Mode::kSevEs, Mode::kCsv}) {
      auto c = snp_config();
      c.mode = m;
      c.kernel = tmp.str("k");
      auto d = synth_digest(synthetic_ovmf(s), c, tmp);
      REQUIRE_FALSE(d);
      CHECK(d.error().field == "kernel");
    }
  }
  SUBCASE("kernel for firmware without a kernel-hashes section (SNP)") {
    SyntheticOvmfSpec s;
    s.sections = {{0x800000, 0x2000, 1}};
    auto c = snp_config();
    c.kernel = tmp.str("k");
    auto d = synth_digest(synthetic_ovmf(s), c, tmp);
    REQUIRE_FALSE(d);
    CHECK(d.error().message.find("SNP_KERNEL_HASHES") != std::string::npos);
  }
  SUBCASE("initrd or append without kernel") {
    auto c = snp_config();
    c.append = std::string(1, 'x');  // (not = "x": GCC 12 -O3 reports a false -Wrestrict there)
    CHECK(synth_digest(synthetic_ovmf(), c, tmp).error().code == ErrorCode::kUsage);
  }
  SUBCASE("ovmf hash of the wrong size or mode") {
    auto c = snp_config();
    c.snp_ovmf_hash = Bytes(47, 0);
    CHECK_FALSE(synth_digest(synthetic_ovmf(), c, tmp));
    c.snp_ovmf_hash = Bytes(48, 0);
    c.mode = Mode::kSev;
    CHECK_FALSE(synth_digest(synthetic_ovmf(), c, tmp));
  }
}

TEST_CASE("CSV digest is SM3 over firmware and hashes table, flagged as unconfirmed") {
  test::TempDir tmp;
  test::write_text(tmp.path() / "k", "kernel-bytes");
  auto c = snp_config();
  c.mode = Mode::kCsv;
  c.kernel = tmp.str("k");
  c.append = "console=ttyS0";
  auto csv = synth_digest(synthetic_ovmf(), c, tmp);
  REQUIRE(csv);
  CHECK(csv->digest.size() == 32);
  CHECK(csv->alg == crypto::DigestAlg::kSm3);
  REQUIRE_FALSE(csv->warnings.empty());
  // Same inputs as SEV, different hash: SM3(fw ‖ table) recomputed independently.
  Bytes fw = synthetic_ovmf();
  Bytes table = build_hashes_table(crypto::digest(crypto::DigestAlg::kSha256, as_bytes(std::string_view("console=ttyS0\0", 14))),
                                   crypto::digest(crypto::DigestAlg::kSha256, {}),
                                   crypto::digest(crypto::DigestAlg::kSha256, as_bytes("kernel-bytes")));
  fw.insert(fw.end(), table.begin(), table.end());
  CHECK(csv->digest == crypto::digest(crypto::DigestAlg::kSm3, fw));
}

TEST_CASE("SEV LAUNCH_MEASURE reproduces the virtee/sev vector") {
  // vectors/measure/README.md: GLD = SHA-256(""), API 0.18 build 15, policy 0.
  auto tik = *from_hex("66320db73158a35a255d051758e95ed4", "tik");
  auto mnonce = *from_hex("4fbe0bedbad6c86ae8f68971d103e554", "mnonce");
  Bytes gld = crypto::digest(crypto::DigestAlg::kSha256, {});
  PlatformVersion v{0, 0x12, 0x0f};
  auto m = sev_launch_measure(tik, v, 0, gld, mnonce);
  REQUIRE(m);
  CHECK(to_hex(*m) == "6faab2daae389bcd3405a05d6cafe33c0414f7bedd0bae19ba5f38b7fd1664ea");

  Bytes blob = *m;
  blob.insert(blob.end(), mnonce.begin(), mnonce.end());
  auto ok = check_sev_launch_measure(blob, tik, v, 0, gld);
  REQUIRE(ok);
  CHECK(ok->match);
  blob[5] ^= 1;
  CHECK_FALSE(check_sev_launch_measure(blob, tik, v, 0, gld)->match);
  blob[5] ^= 1;
  CHECK_FALSE(check_sev_launch_measure(blob, tik, v, 1, gld)->match);  // policy is bound
  blob[40] ^= 1;
  CHECK_FALSE(check_sev_launch_measure(blob, tik, v, 0, gld)->match);  // MNONCE is bound
  blob.pop_back();
  CHECK(check_sev_launch_measure(blob, tik, v, 0, gld).error().field == "measurement");
  CHECK_FALSE(sev_launch_measure(Bytes(15, 0), v, 0, gld, mnonce));
}
