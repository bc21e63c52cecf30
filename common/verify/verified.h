// Verified<T>: claims that passed the authenticity checks (a signature chaining to a pinned
// vendor root, or to a simulated root the user trusted by name). Only the verifiers below can
// make one, so a function that takes a Verified<T> — policy, above all — cannot be handed
// bytes nobody checked. A new TEE vendor adds its verifier to the friend list. Unit tests of
// policy make one through VerifiedForTests (tests/support/verified_for_tests.h); the
// arch/boundaries test fails if that name appears outside tests/.
#pragma once

#include <utility>

namespace cci::verify {

struct SnpEvidence;
struct SnpVerification;
SnpVerification verify_snp(const SnpEvidence& ev);
struct CsvInputs;
struct CsvVerification;
CsvVerification verify_csv(const CsvInputs& in);
struct TdxEvidence;
struct TdxVerification;
TdxVerification verify_tdx_quote(const TdxEvidence& ev);
struct GpuEvidence;
struct GpuVerification;
GpuVerification verify_gpu_report(const GpuEvidence& ev);
struct VerifiedForTests;

template <class T>
class Verified {
 public:
  const T& operator*() const { return value_; }
  const T* operator->() const { return &value_; }

 private:
  explicit Verified(T v) : value_(std::move(v)) {}
  friend SnpVerification verify_snp(const SnpEvidence& ev);
  friend CsvVerification verify_csv(const CsvInputs& in);
  friend TdxVerification verify_tdx_quote(const TdxEvidence& ev);
  friend GpuVerification verify_gpu_report(const GpuEvidence& ev);
  friend struct VerifiedForTests;
  T value_;
};

}  // namespace cci::verify
