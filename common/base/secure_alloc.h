// Memory that holds user data (prompts, completions, API keys) and is wiped when released:
// WipingAllocator clears every block before returning it, so containers built on it (strings,
// JSON documents, HTTP bodies) leave no copy behind when they grow, shrink or die.
#pragma once

#include <string.h>  // explicit_bzero (glibc, BSD): a clear the compiler may not remove

#include <memory>
#include <string>

namespace cci {

template <class T>
struct WipingAllocator {
  using value_type = T;
  WipingAllocator() noexcept = default;
  template <class U>
  WipingAllocator(const WipingAllocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor)
  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    explicit_bzero(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const WipingAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const WipingAllocator<U>&) const noexcept { return false; }
};

// A string whose heap buffer is wiped on release. Short strings live inside the object, so
// the object itself must sit in wiped memory too (a SecureJson value, a wiped struct) or be
// cleared by its owner (wipe()).
using SecureString = std::basic_string<char, std::char_traits<char>, WipingAllocator<char>>;

inline void wipe(SecureString& s) {
  explicit_bzero(s.data(), s.size());
  s.clear();
}

}  // namespace cci
