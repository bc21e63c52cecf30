// Intel's TDX collateral as the Provisioning Certification Service serves it (Intel SGX and TDX
// PCS API v4, "Get TDX TCB Info" and "Get TDX QE Identity"): the TCB Info v3 body
// {"tcbInfo":{...},"signature":"<r||s hex>"} and the QE Identity v2 body
// {"enclaveIdentity":{...},"signature":"..."}. The signature covers the exact bytes of the inner
// value as served, so the value is cut out of the body byte for byte (never re-serialised) and
// then read strictly: every field this verifier uses must be there with its type and size.
// Pure parsing; the signatures, chains and CRLs are checked in verify/tdx_verify.
#pragma once

#include <array>
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/result.h"

namespace cci::tdx {

// The exact bytes of the value of `key` in a top-level JSON object, and the object's "signature"
// (64 bytes from 128 hex digits). kMalformed naming the member when the body is not such an
// object, the key is missing or repeated, or the signature is not r||s.
struct SignedJson {
  std::string value;  // the bytes the signature covers
  std::array<std::uint8_t, 64> signature{};
};
Result<SignedJson> cut_signed_json(ByteView body, const std::string& key);

struct TcbLevelStatus {
  std::string status;  // UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded,
                       // OutOfDate, OutOfDateConfigurationNeeded, Revoked
  std::string date;    // tcbDate
  std::vector<std::string> advisory_ids;
};

struct TdxTcbLevel {
  std::array<std::uint8_t, 16> sgx_components{};
  std::uint16_t pcesvn = 0;
  std::array<std::uint8_t, 16> tdx_components{};
  TcbLevelStatus status;
};

struct ModuleLevel {
  std::uint16_t isvsvn = 0;
  TcbLevelStatus status;
};

struct ModuleIdentity {
  std::string id;  // "TDX_03"
  std::array<std::uint8_t, 48> mrsigner{};
  std::array<std::uint8_t, 8> attributes{}, attributes_mask{};
  std::vector<ModuleLevel> levels;
};

// What TCB Info and QE Identity both carry.
struct CollateralHeader {
  std::time_t issue_date = 0, next_update = 0;
  unsigned evaluation_data_number = 0;
};

struct TcbInfo : CollateralHeader {
  std::array<std::uint8_t, 6> fmspc{};
  std::array<std::uint8_t, 2> pceid{};
  ModuleIdentity module;                 // tdxModule (no id, no levels)
  std::vector<ModuleIdentity> module_identities;
  std::vector<TdxTcbLevel> levels;       // as served: newest first
};
// The inner tcbInfo value: id "TDX", version 3.
Result<TcbInfo> parse_tcb_info(const std::string& value);

struct QeIdentity : CollateralHeader {
  std::uint32_t miscselect = 0, miscselect_mask = 0;
  std::array<std::uint8_t, 16> attributes{}, attributes_mask{};
  std::array<std::uint8_t, 32> mrsigner{};
  std::uint16_t isvprodid = 0;
  std::vector<ModuleLevel> levels;  // by ISVSVN, newest first
};
// The inner enclaveIdentity value: id "TD_QE", version 2.
Result<QeIdentity> parse_qe_identity(const std::string& value);

// "2025-06-19T10:16:03Z" (RFC 3339, UTC, whole seconds).
Result<std::time_t> parse_pcs_time(const std::string& s, const std::string& field);

}  // namespace cci::tdx
