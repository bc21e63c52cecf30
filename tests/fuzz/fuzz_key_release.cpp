// Fuzz target: the inputs of key release that come from outside: the --key-source text
// (kbs/key_source.h), the deployment manifest's encryption record (manifest::encryption_record:
// the input as a predicate JSON) and a KBS's error body (kbs::parse_error_body). Each ends in a
// value or an error naming its field, never a crash.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "kbs/errors.h"
#include "kbs/key_source.h"
#include "manifest/encrypted_model.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size > (64u << 10)) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (auto k = cci::kbs::parse_key_source(text); !k && k.error().field != "key-source") __builtin_trap();
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    auto r = cci::manifest::encryption_record(j);
    if (!r && r.error().field.empty()) __builtin_trap();
    if (r && *r && ((*r)->files.empty() || (*r)->key_id.empty())) __builtin_trap();  // a record always names files and a key
  }
  const auto e = cci::kbs::parse_error_body(401, text);
  if (e.detail.size() > text.size() + 200) __builtin_trap();
  return 0;
}
