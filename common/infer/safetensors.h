// safetensors (huggingface/safetensors, docs "Format"): u64 LE header length N, N bytes of
// JSON {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}},
// then the byte buffer the offsets index (relative to its start). The parser is strict, as the
// reference implementation is: N within the file and at most 100 MB, no duplicate keys, known
// dtypes, end - begin == numel x dtype size, and the tensors tile the buffer exactly (sorted by
// offset: no overlap, no hole, nothing left over). Tensors are views into the mapped file.
// Sharded checkpoints: model.safetensors.index.json {"weight_map": {tensor: file}}.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/mapped_file.h"
#include "base/result.h"
#include "infer/model_reader.h"

namespace cci::infer {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };
const char* dtype_name(DType t);  // "F32", "BF16", ... as safetensors spells them
size_t dtype_size(DType t);

struct TensorView {
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  ByteView data;  // into the mapped file: valid while the WeightSet that owns it lives
  std::int64_t numel() const;
};

inline constexpr std::uint64_t kMaxSafetensorsHeader = 100u << 20;

// Parses a whole safetensors file image. `what` names it in errors.
Result<std::map<std::string, TensorView>> parse_safetensors(ByteView file, const std::string& what);

// Every tensor of a checkpoint, with the mappings that back them.
struct WeightSet {
  std::map<std::string, TensorView> tensors;
  std::vector<std::shared_ptr<const MappedFile>> files;
  std::vector<std::shared_ptr<const Bytes>> buffers;  // memory that views point into (generated weights)
  const TensorView* find(const std::string& name) const;
};

// One .safetensors file, or a directory with model.safetensors or
// model.safetensors.index.json (shards named there; a tensor in two shards is an error).
// `on_mapped` (optional) sees each file's bytes once mapped and may refuse it.
Result<WeightSet> load_safetensors(const std::string& path, const MappedCheck& on_mapped = {});
// The same through a reader: a single-file reader names the one .safetensors file.
Result<WeightSet> load_safetensors(ModelReader& reader);

// Writes tensors as one safetensors file (sorted by name, offsets in that order), atomically.
struct OwnedTensor {
  DType dtype = DType::kF32;
  std::vector<std::int64_t> shape;
  Bytes data;
};
Status write_safetensors(const std::string& path, const std::map<std::string, OwnedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata = {});

}  // namespace cci::infer
