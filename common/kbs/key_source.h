// Where cci-run serve gets an encrypted model's key (--key-source), one syntax for all:
//   push                      the model owner sends it over attested TLS after verifying the server
//                             (cci-verify remote URL --provision-key DEK): the default
//   file://PATH               a 32-byte file, for development only (the key sat on a disk)
//   kbs://HOST:PORT/REPO/TYPE/TAG   a trustee KBS (protocol 0.4.0), attested with this TEE's evidence
//   cdh:///REPO/TYPE/TAG      the Confidential Data Hub of a Confidential Containers pod (127.0.0.1:8006)
#pragma once

#include <string>

#include "base/result.h"
#include "crypto/random.h"

namespace cci::kbs {

struct KeySource {
  enum class Kind { kPush, kFile, kKbs, kCdh } kind = Kind::kPush;
  std::string path;              // file
  std::string host;              // kbs
  int port = 0;                  // kbs
  std::string repo, type, tag;   // kbs, cdh: the resource path
  std::string name() const;      // "push" | "file" | "kbs" | "cdh"
  std::string resource() const;  // "REPO/TYPE/TAG"
};

// Usage errors name "key-source" and say what the form is.
Result<KeySource> parse_key_source(const std::string& text);

}  // namespace cci::kbs
