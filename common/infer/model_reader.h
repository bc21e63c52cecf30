// Where a model's files come from while it is loaded. Loading reads every file through this
// interface only, so the verified loader (infer/verified_model.h) can hand out exactly the bytes
// it hashed: small files (config.json, tokenizer, shard index) as the checked bytes, weight
// files as mappings of the checked descriptors. The plain path reader serves unverified uses
// (the benchmarks, models without a manifest).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/mapped_file.h"
#include "base/result.h"

namespace cci::infer {

// Sees a weight file's bytes once mapped and may refuse it.
using MappedCheck = std::function<Status(const std::string& relative_name, ByteView bytes)>;

class ModelReader {
 public:
  virtual ~ModelReader() = default;
  virtual const std::string& where() const = 0;  // the directory or file, for messages
  // A lone checkpoint file (llama2.c .bin) rather than a directory; its name is single_name().
  virtual bool single_file() const = 0;
  virtual std::string single_name() const = 0;
  virtual bool has(const std::string& name) const = 0;
  // A small file's whole content (config.json, tokenizer, index), at most max_bytes.
  virtual Result<Bytes> read(const std::string& name, size_t max_bytes) = 0;
  // A weight file, mapped read-only.
  virtual Result<std::shared_ptr<const MappedFile>> map(const std::string& name) = 0;
};

// Reads `path` (a model directory or a single checkpoint file) by name; `on_mapped` sees each
// mapped weight file.
std::unique_ptr<ModelReader> path_reader(const std::string& path, MappedCheck on_mapped = {});

}  // namespace cci::infer
