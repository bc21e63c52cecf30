#include "kbs/errors.h"

#include <nlohmann/json.hpp>

namespace cci::kbs {

std::string KbsError::message() const {
  return "KBS " + std::to_string(status) + (variant.empty() ? "" : " " + variant) + (detail.empty() ? "" : ": " + detail);
}

KbsError parse_error_body(int status, std::string_view body) {
  KbsError e;
  e.status = status;
  const auto j = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_object() && j.contains("type") && j["type"].is_string()) {
    const std::string type = j["type"].get<std::string>();
    const std::string prefix = kErrorTypePrefix;
    if (type.rfind(prefix, 0) == 0) e.variant = type.substr(prefix.size());
    if (j.contains("detail") && j["detail"].is_string()) e.detail = j["detail"].get<std::string>();
    if (!e.variant.empty()) return e;
  }
  e.detail = std::string(body.substr(0, 200));
  for (char& c : e.detail) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return e;
}

}  // namespace cci::kbs
