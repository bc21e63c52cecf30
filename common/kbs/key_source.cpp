#include "kbs/key_source.h"

#include <cctype>
#include <cstdlib>


namespace cci::kbs {
namespace {

Error usage(const std::string& what) {
  return make_error(ErrorCode::kUsage,
                    "--key-source " + what + " (forms: push, file://PATH, kbs://HOST:PORT/REPO/TYPE/TAG, cdh:///REPO/TYPE/TAG)", "key-source");
}

// REPO/TYPE/TAG: three non-empty segments of [A-Za-z0-9._-] (trustee's resource path rule).
Status resource_path(const std::string& text, KeySource& k) {
  std::string parts[3];
  size_t start = 0;
  for (int i = 0; i < 3; ++i) {
    const size_t slash = i < 2 ? text.find('/', start) : text.size();
    if (slash == std::string::npos) return usage("needs a resource path REPO/TYPE/TAG, not '" + text + "'");
    parts[i] = text.substr(start, slash - start);
    if (parts[i].empty() || parts[i].size() > 128) return usage("resource path segments must be 1 to 128 characters: '" + text + "'");
    for (char c : parts[i]) {
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
        return usage("resource path segments take letters, digits, '.', '_' and '-' only: '" + text + "'");
      }
    }
    if (parts[i] == "." || parts[i] == "..") return usage("resource path segments may not be '.' or '..'");
    start = slash + 1;
  }
  k.repo = parts[0];
  k.type = parts[1];
  k.tag = parts[2];
  return {};
}

}  // namespace

std::string KeySource::name() const {
  switch (kind) {
    case Kind::kPush: return "push";
    case Kind::kFile: return "file";
    case Kind::kKbs: return "kbs";
    case Kind::kCdh: return "cdh";
  }
  return "push";
}

std::string KeySource::resource() const { return repo + "/" + type + "/" + tag; }

Result<KeySource> parse_key_source(const std::string& text) {
  KeySource k;
  if (text == "push") return k;
  if (text.rfind("file://", 0) == 0) {
    k.kind = KeySource::Kind::kFile;
    k.path = text.substr(7);
    if (k.path.empty()) return usage("file:// needs a path");
    return k;
  }
  if (text.rfind("cdh://", 0) == 0) {
    k.kind = KeySource::Kind::kCdh;
    const std::string rest = text.substr(6);
    if (rest.empty() || rest.front() != '/') return usage("cdh:/// takes no host (the CDH listens on 127.0.0.1:8006): cdh:///REPO/TYPE/TAG");
    CCI_TRY(resource_path(rest.substr(1), k));
    return k;
  }
  if (text.rfind("kbs://", 0) == 0) {
    k.kind = KeySource::Kind::kKbs;
    const std::string rest = text.substr(6);
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) return usage("kbs:// needs HOST:PORT/REPO/TYPE/TAG");
    const std::string hp = rest.substr(0, slash);
    const size_t colon = hp.rfind(':');
    if (colon == std::string::npos || colon == 0) return usage("kbs:// needs HOST:PORT, e.g. kbs://10.0.0.2:8080/default/llama/dek");
    k.host = hp.substr(0, colon);
    if (k.host.size() > 2 && k.host.front() == '[' && k.host.back() == ']') k.host = k.host.substr(1, k.host.size() - 2);
    char* end = nullptr;
    const long port = std::strtol(hp.c_str() + colon + 1, &end, 10);
    if (colon + 1 == hp.size() || *end != '\0' || port < 1 || port > 65535) return usage("kbs:// port must be 1-65535");
    k.port = static_cast<int>(port);
    CCI_TRY(resource_path(rest.substr(slash + 1), k));
    return k;
  }
  return usage("'" + text + "' is not a key source");
}

}  // namespace cci::kbs
