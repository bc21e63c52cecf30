// A process-wide memo of signature checks that passed, keyed by the exact bytes involved
// (roots, intermediates, CRLs). Those bytes fix the outcome, so it stands while the process
// lives; anything that depends on the time asked about (validity periods, CRL windows) is the
// caller's to check again on every call. Internal to cci_verify.
#pragma once

#include <mutex>
#include <set>

#include "base/bytes.h"

namespace cci::verify::detail {

class VerifiedOnce {
 public:
  bool contains(const Bytes& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_.count(key) != 0;
  }
  void add(Bytes key) {
    std::lock_guard<std::mutex> lock(mu_);
    if (keys_.size() >= kMaxEntries) keys_.clear();  // a bound, not an eviction policy: real sets are tiny
    keys_.insert(std::move(key));
  }

 private:
  static constexpr size_t kMaxEntries = 256;
  mutable std::mutex mu_;
  std::set<Bytes> keys_;
};

}  // namespace cci::verify::detail
