// Policy unit tests look at policy alone, on reports whose signatures other tests check: this
// marks a value as verified for them. Only tests/ may use it (checked by arch/boundaries).
#pragma once

#include <utility>

#include "verify/verified.h"

namespace cci::verify {

struct VerifiedForTests {
  template <class T>
  static Verified<T> make(T value) {
    return Verified<T>(std::move(value));
  }
};

}  // namespace cci::verify
