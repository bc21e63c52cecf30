// JSON values as YAML text (yaml-cpp's emitter), for people and for kubectl: block mappings and
// sequences, multi-line strings as literal blocks (PEM, Rego, TOML stay readable and exact),
// every other string double-quoted (no value is read back as a number, boolean or null).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace cci::kubernetes {

std::string to_yaml(const nlohmann::ordered_json& value);

}  // namespace cci::kubernetes
