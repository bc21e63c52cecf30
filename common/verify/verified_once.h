// A process-wide memo of signature checks that passed, keyed by the exact bytes involved
// (roots, intermediates, CRLs). Those bytes fix the outcome, so it stands while the process
// lives; anything that depends on the time asked about (validity periods, CRL windows) is the
// caller's to check again on every call. Internal to cci_verify.
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "base/bytes.h"

namespace cci::verify::detail {

class VerifiedOnce {
 public:
  bool contains(const Bytes& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_.count(std::string(key.begin(), key.end())) != 0;
  }
  void add(const Bytes& key) {
    std::lock_guard<std::mutex> lock(mu_);
    if (keys_.size() >= kMaxEntries) keys_.clear();  // a bound, not an eviction policy: real sets are tiny
    keys_.insert(std::string(key.begin(), key.end()));
  }

 private:
  static constexpr size_t kMaxEntries = 256;
  mutable std::mutex mu_;
  std::set<std::string> keys_;  // the bytes as a string: the same order, compared without GCC 12 -Wstringop-overread noise
};

}  // namespace cci::verify::detail
