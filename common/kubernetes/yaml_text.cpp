#include "kubernetes/yaml_text.h"

#include <yaml-cpp/yaml.h>

namespace cci::kubernetes {
namespace {

void emit(YAML::Emitter& e, const nlohmann::ordered_json& j) {
  if (j.is_object()) {
    e << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      e << YAML::Key << k << YAML::Value;
      emit(e, v);
    }
    e << YAML::EndMap;
  } else if (j.is_array()) {
    e << YAML::BeginSeq;
    for (const auto& v : j) emit(e, v);
    e << YAML::EndSeq;
  } else if (j.is_string()) {
    const std::string s = j.get<std::string>();
    // A literal block keeps every character but carriage returns and tabs' meaning; those stay quoted.
    if (s.find('\n') != std::string::npos && s.find('\r') == std::string::npos && s.find('\t') == std::string::npos) e << YAML::Literal << s;
    else e << YAML::DoubleQuoted << s;
  } else {
    e << j.dump();  // numbers, booleans, null
  }
}

}  // namespace

std::string to_yaml(const nlohmann::ordered_json& value) {
  YAML::Emitter e;
  emit(e, value);
  return e.c_str();
}

}  // namespace cci::kubernetes
