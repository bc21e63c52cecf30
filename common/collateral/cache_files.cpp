#include "collateral/cache_files.h"

#include <filesystem>

#include "base/file_io.h"

namespace cci::collateral::detail {

namespace fs = std::filesystem;

Result<std::optional<Bytes>> read_if_present(const std::string& file, size_t max) {
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<Bytes>();
  auto data = read_file(file, max);
  if (!data) return data.error();
  return std::optional<Bytes>(std::move(*data));
}

Status store(const std::string& file, ByteView data) {
  std::error_code ec;
  fs::create_directories(fs::path(file).parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + fs::path(file).parent_path().string() + ": " + ec.message(), file);
  return write_file_atomic(file, data);
}

Error bad_answer(const std::string& what, const std::string& why) {
  return Error::make(ErrorCode::kInvalidInput, "KDS answer for the " + what + " refused: " + why, what);
}

}  // namespace cci::collateral::detail
