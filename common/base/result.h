// cci::Result<T>: a std::expected-shaped value-or-error used by every function that
// handles untrusted input. Parsers and verifiers return errors as values; exceptions
// are reserved for programmer errors and are converted at the tool boundary.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace cci {

// Closed set of failure classes. Each maps to exactly one exit code (common/cli/exit_code.h)
// and one stable JSON "reason" string (error_code_name()).
enum class ErrorCode {
  kMalformed,           // input parsed and found structurally invalid (bundle, report, key)
  kVerificationFailed,  // well-formed, but a signature / digest / policy check failed
  kUsage,               // the caller asked for something impossible (bad flag value)
  kIo,                  // a file could not be read or written, or changed while read
  kInvalidInput,        // the input exists but cannot be processed as asked (e.g. symlink refused)
  kUnsupported,         // valid input using a feature this build does not implement
  kInternal,            // a bug or resource exhaustion
};

const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // one human sentence, names the field / file concerned
  std::string field;    // optional spec field or path the error is about

  static Error make(ErrorCode c, std::string msg, std::string fld = {}) {
    return Error{c, std::move(msg), std::move(fld)};
  }
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

// The success or error of `r`, without its value.
template <class T>
Status status_of(const Result<T>& r) {
  if (!r) return r.error();
  return {};
}

inline Error make_error(ErrorCode c, std::string msg, std::string field = {}) {
  return Error::make(c, std::move(msg), std::move(field));
}

}  // namespace cci

// Propagate an error from an expression returning Result<...>.
#define CCI_TRY(expr)                                  \
  do {                                                 \
    auto cci_try_result_ = (expr);                     \
    if (!cci_try_result_) return cci_try_result_.error(); \
  } while (0)

// Declare `var` from an expression returning Result<T>, or propagate its error.
#define CCI_ASSIGN(var, expr)                         \
  auto var##_result_ = (expr);                        \
  if (!var##_result_) return var##_result_.error();   \
  auto var = std::move(*var##_result_)

// Set an existing `dst` from an expression returning Result<T>, or propagate its error.
#define CCI_SET(dst, expr)                            \
  do {                                                \
    auto cci_set_result_ = (expr);                    \
    if (!cci_set_result_) return cci_set_result_.error(); \
    dst = std::move(*cci_set_result_);                \
  } while (0)
