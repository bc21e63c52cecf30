// Fuzz target: NVIDIA reference integrity manifests as cci-verify reads them from NVIDIA's RIM
// service or a cache (hostile until verified): libxml2's parse with the DOCTYPE refusal, the
// signature-shape checks, the SWID content reader, the KeyInfo chain and libxmlsec1's signature
// verification, at a time the genuine RIMs of the seed corpus verify at. Whatever content was
// read is then compared with a report of a few measurement blocks (the comparison only ever sees
// verified RIMs, but must not depend on that to stay in bounds).
#include <cstdint>
#include <cstdlib>

#include "verify/nvgpu_rim.h"

namespace {

const cci::nvgpu::Report& sample_report() {
  static const cci::nvgpu::Report r = [] {
    cci::nvgpu::Report rep;
    rep.driver_version = "550.144.03";
    rep.vbios_version = "96.00.5e.00.01";
    for (std::uint8_t i = 1; i <= 4; ++i) {
      cci::nvgpu::MeasurementBlock b;
      b.index = i;
      b.spec = 1;
      b.value.assign(48, i);
      rep.blocks.push_back(b);
    }
    rep.blocks.back().value.resize(20);  // one block shorter than any RIM hash
    return rep;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  constexpr std::time_t kAt = 1748736000;  // 2025-06-01T00:00:00Z
  const auto v = cci::verify::verify_rim(cci::ByteView(data, size), kAt, "fuzz RIM");
  if (v.passed && (!v.rim || v.chain.size() < 2)) std::abort();  // a verified RIM has content and a chain
  if (v.rim) {
    cci::verify::CheckList c;
    cci::verify::compare_measurements(sample_report(), &*v.rim, nullptr, c);
    cci::verify::CheckList c2;
    cci::verify::compare_measurements(sample_report(), nullptr, &*v.rim, c2);
    cci::verify::CheckList c3;
    cci::verify::compare_measurements(sample_report(), &*v.rim, &*v.rim, c3);
  }
  return 0;
}
