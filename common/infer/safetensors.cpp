#include "infer/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "base/byte_reader.h"
#include "base/file_io.h"

namespace cci::infer {
namespace {

using Json = nlohmann::json;
namespace fs = std::filesystem;

struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {{DType::kF32, "F32", 4}, {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2}, {DType::kF64, "F64", 8},
                                 {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4}, {DType::kI16, "I16", 2},  {DType::kI8, "I8", 1},
                                 {DType::kU8, "U8", 1},   {DType::kBool, "BOOL", 1}};

Error bad(const std::string& what, const std::string& msg, const std::string& field) {
  return make_error(ErrorCode::kMalformed, what + ": " + msg, field);
}

// JSON that nlohmann would accept with a duplicate key silently keeps the last value; the
// reference parser refuses it, and so do we (a tensor named twice must not pick a winner).
Result<Json> parse_json_no_duplicates(std::string_view text, const std::string& what) {
  std::vector<std::set<std::string>> keys;
  std::string duplicate;
  auto cb = [&](int, Json::parse_event_t ev, Json& parsed) {
    if (ev == Json::parse_event_t::object_start) keys.emplace_back();
    else if (ev == Json::parse_event_t::object_end) keys.pop_back();
    else if (ev == Json::parse_event_t::key && !keys.back().insert(parsed.get<std::string>()).second && duplicate.empty()) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  Json j = Json::parse(text.begin(), text.end(), cb, false);
  if (j.is_discarded()) return bad(what, "the header is not valid JSON", "header");
  if (!duplicate.empty()) return bad(what, "the header names '" + duplicate + "' twice", duplicate);
  return j;
}

Result<DType> dtype_of(const Json& v, const std::string& what, const std::string& name) {
  if (v.is_string()) {
    for (const auto& d : kDTypes) {
      if (v.get<std::string>() == d.name) return d.type;
    }
  }
  return bad(what, "tensor '" + name + "' has an unknown dtype " + v.dump(), name);
}

Result<std::vector<std::int64_t>> shape_of(const Json& v, const std::string& what, const std::string& name) {
  if (!v.is_array() || v.size() > 8) return bad(what, "tensor '" + name + "' has a malformed shape", name);
  std::vector<std::int64_t> shape;
  for (const auto& d : v) {
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() > (1ull << 40)) return bad(what, "tensor '" + name + "' has a malformed shape", name);
    shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
  }
  return shape;
}

struct Entry {
  std::string name;
  std::uint64_t begin, end;
};

Result<std::pair<std::string, TensorView>> tensor_of(const std::string& name, const Json& v, ByteView buffer, const std::string& what,
                                                     std::vector<Entry>& ranges) {
  if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets") || v.size() != 3) {
    return bad(what, "tensor '" + name + "' must have exactly dtype, shape and data_offsets", name);
  }
  TensorView t;
  auto dt = dtype_of(v["dtype"], what, name);
  if (!dt) return dt.error();
  t.dtype = *dt;
  auto shape = shape_of(v["shape"], what, name);
  if (!shape) return shape.error();
  t.shape = std::move(*shape);
  const Json& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned()) {
    return bad(what, "tensor '" + name + "' has malformed data_offsets", name);
  }
  const std::uint64_t begin = off[0].get<std::uint64_t>(), end = off[1].get<std::uint64_t>();
  if (begin > end || end > buffer.size()) {
    return bad(what, "tensor '" + name + "' data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + ") lie outside the " +
                         std::to_string(buffer.size()) + "-byte buffer",
               name);
  }
  // numel x size, overflow-checked (each dimension is at most 2^40).
  std::uint64_t bytes = dtype_size(t.dtype);
  for (auto d : t.shape) {
    if (__builtin_mul_overflow(bytes, static_cast<std::uint64_t>(d), &bytes)) return bad(what, "tensor '" + name + "' is absurdly large", name);
  }
  if (bytes != end - begin) {
    return bad(what, "tensor '" + name + "' has " + std::to_string(end - begin) + " bytes but its dtype and shape need " +
                         std::to_string(bytes),
               name);
  }
  t.data = buffer.subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
  ranges.push_back({name, begin, end});
  return std::make_pair(name, std::move(t));
}

// The tensors must tile the buffer: sorted by offset, each starts where the last ended.
Status check_tiling(std::vector<Entry> ranges, size_t buffer_size, const std::string& what) {
  std::sort(ranges.begin(), ranges.end(), [](const Entry& a, const Entry& b) { return a.begin != b.begin ? a.begin < b.begin : a.end < b.end; });
  std::uint64_t at = 0;
  for (const auto& r : ranges) {
    if (r.begin < at) return bad(what, "tensor '" + r.name + "' overlaps the tensor before it", r.name);
    if (r.begin > at) return bad(what, "a gap of " + std::to_string(r.begin - at) + " bytes before tensor '" + r.name + "'", r.name);
    at = r.end;
  }
  if (at != buffer_size) return bad(what, std::to_string(buffer_size - at) + " bytes after the last tensor belong to none", "data");
  return {};
}

Result<std::map<std::string, std::string>> weight_map_of(ModelReader& reader) {
  const std::string index_file = "model.safetensors.index.json";
  auto text = reader.read(index_file, 64u << 20);
  if (!text) return text.error();
  auto j = parse_json_no_duplicates(std::string_view(reinterpret_cast<const char*>(text->data()), text->size()), index_file);
  if (!j) return j.error();
  if (!j->is_object() || !j->contains("weight_map") || !(*j)["weight_map"].is_object()) {
    return bad(index_file, "no weight_map object", "weight_map");
  }
  std::map<std::string, std::string> m;
  for (const auto& [name, file] : (*j)["weight_map"].items()) {
    const std::string f = file.is_string() ? file.get<std::string>() : "";
    if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..") {
      return bad(index_file, "tensor '" + name + "' maps to a file name that is not a plain name in this directory", name);
    }
    m[name] = f;
  }
  return m;
}

Status add_file(WeightSet& set, ModelReader& reader, const std::string& relative) {
  auto mf = reader.map(relative);
  if (!mf) return mf.error();
  auto tensors = parse_safetensors((*mf)->bytes(), relative);
  if (!tensors) return tensors.error();
  for (auto& [name, t] : *tensors) {
    if (!set.tensors.emplace(name, std::move(t)).second) return bad(relative, "tensor '" + name + "' is also in another shard", name);
  }
  set.files.push_back(std::move(*mf));
  return {};
}

}  // namespace

const char* dtype_name(DType t) {
  for (const auto& d : kDTypes) {
    if (d.type == t) return d.name;
  }
  return "?";
}

size_t dtype_size(DType t) {
  for (const auto& d : kDTypes) {
    if (d.type == t) return d.size;
  }
  return 0;
}

std::int64_t TensorView::numel() const {
  std::int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

const TensorView* WeightSet::find(const std::string& name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

Result<std::map<std::string, TensorView>> parse_safetensors(ByteView file, const std::string& what) {
  const ByteReader rd(file, what);
  auto n = rd.le64(0, "header length");
  if (!n) return bad(what, "shorter than the 8-byte header length", "header length");
  if (*n > kMaxSafetensorsHeader || *n > file.size() - 8) {
    return bad(what, "header length " + std::to_string(*n) + " runs past the end of the " + std::to_string(file.size()) + "-byte file",
               "header length");
  }
  const std::string_view text(reinterpret_cast<const char*>(file.data() + 8), static_cast<size_t>(*n));
  auto j = parse_json_no_duplicates(text, what);
  if (!j) return j.error();
  if (!j->is_object()) return bad(what, "the header is not a JSON object", "header");
  const ByteView buffer = file.subspan(8 + static_cast<size_t>(*n));
  std::map<std::string, TensorView> out;
  std::vector<Entry> ranges;
  for (const auto& [name, v] : j->items()) {
    if (name == "__metadata__") {
      if (!v.is_object() || !std::all_of(v.begin(), v.end(), [](const Json& x) { return x.is_string(); })) {
        return bad(what, "__metadata__ must map strings to strings", "__metadata__");
      }
      continue;
    }
    auto t = tensor_of(name, v, buffer, what, ranges);
    if (!t) return t.error();
    out.emplace(std::move(t->first), std::move(t->second));
  }
  CCI_TRY(check_tiling(std::move(ranges), buffer.size(), what));
  return out;
}

Result<WeightSet> load_safetensors(const std::string& path, const MappedCheck& on_mapped) {
  auto reader = path_reader(path, on_mapped);
  return load_safetensors(*reader);
}

Result<WeightSet> load_safetensors(ModelReader& reader) {
  WeightSet set;
  if (reader.single_file()) {
    CCI_TRY(add_file(set, reader, reader.single_name()));
    return set;
  }
  if (reader.has("model.safetensors.index.json")) {
    auto map = weight_map_of(reader);
    if (!map) return map.error();
    std::set<std::string> shards;
    for (const auto& [name, file] : *map) shards.insert(file);
    for (const auto& file : shards) CCI_TRY(add_file(set, reader, file));
    for (const auto& [name, file] : *map) {
      if (!set.find(name)) return bad(file, "tensor '" + name + "' is in the index but not in its shard", name);
    }
    if (set.tensors.size() != map->size()) return bad("model.safetensors.index.json", "a shard holds tensors the index does not name", "weight_map");
    return set;
  }
  if (reader.has("model.safetensors")) {
    CCI_TRY(add_file(set, reader, "model.safetensors"));
    return set;
  }
  return make_error(ErrorCode::kIo, reader.where() + " has neither model.safetensors nor model.safetensors.index.json", reader.where());
}

Status write_safetensors(const std::string& path, const std::map<std::string, OwnedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::uint64_t at = 0;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape}, {"data_offsets", {at, at + t.data.size()}}};
    at += t.data.size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keeps the buffer 8-byte aligned, as the reference writer does
  Bytes out;
  out.reserve(8 + text.size() + at);
  append_le(out, text.size(), 8);
  out.insert(out.end(), text.begin(), text.end());
  for (const auto& [name, t] : tensors) out.insert(out.end(), t.data.begin(), t.data.end());
  return write_file_atomic(path, out);
}

}  // namespace cci::infer
