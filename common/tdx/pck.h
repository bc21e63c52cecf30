// The Intel SGX extensions of a PCK certificate (Intel SGX PCK Certificate and Certificate
// Revocation List Profile Specification, "PCK Certificate", the extension 1.2.840.113741.1.13.1),
// decoded strictly from its DER extnValue: a SEQUENCE of {OID, value} pairs naming
//   .1 PPID (OCTET STRING, 16)        .2 TCB (SEQUENCE: .2.1-.2.16 component SVNs, .2.17
//   .3 PCE-ID (OCTET STRING, 2)           PCESVN, .2.18 CPUSVN (OCTET STRING, 16))
//   .4 FMSPC (OCTET STRING, 6)        .5 SGX type (ENUMERATED)
//   .6 platform instance ID, .7 configuration (Platform CA certificates only; not needed here).
// Pure parsing with its own bounded DER reader; the certificate is checked elsewhere.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::tdx {

inline constexpr char kOidSgxExtensions[] = "1.2.840.113741.1.13.1";

struct PckExtensions {
  std::array<std::uint8_t, 16> ppid{};
  std::array<std::uint8_t, 16> tcb_components{};  // .2.1 - .2.16, each 0-255
  std::uint16_t pcesvn = 0;
  std::array<std::uint8_t, 16> cpusvn{};
  std::array<std::uint8_t, 2> pceid{};
  std::array<std::uint8_t, 6> fmspc{};
  unsigned sgx_type = 0;  // 0 standard, 1 scalable, 2 scalable with integrity
};

// kMalformed naming the element for anything that is not the profile's DER.
Result<PckExtensions> parse_pck_extensions(ByteView extn_value);

}  // namespace cci::tdx
