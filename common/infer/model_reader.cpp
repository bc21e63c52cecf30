#include "infer/model_reader.h"

#include <filesystem>

#include "base/file_io.h"

namespace cci::infer {
namespace {

namespace fs = std::filesystem;

class PathReader final : public ModelReader {
 public:
  PathReader(std::string path, MappedCheck on_mapped) : path_(std::move(path)), on_mapped_(std::move(on_mapped)) {
    std::error_code ec;
    single_ = !fs::is_directory(path_, ec);
  }
  const std::string& where() const override { return path_; }
  bool single_file() const override { return single_; }
  std::string single_name() const override { return fs::path(path_).filename().string(); }
  bool has(const std::string& name) const override {
    std::error_code ec;
    return !single_ && fs::exists(fs::path(path_) / name, ec);
  }
  Result<Bytes> read(const std::string& name, size_t max_bytes) override { return read_file(file(name), max_bytes); }
  Result<std::shared_ptr<const MappedFile>> map(const std::string& name) override {
    auto mf = MappedFile::open(file(name));
    if (!mf) return mf.error();
    if (on_mapped_) CCI_TRY(on_mapped_(name, (*mf)->bytes()));
    return mf;
  }

 private:
  std::string file(const std::string& name) const { return single_ ? path_ : (fs::path(path_) / name).string(); }

  std::string path_;
  MappedCheck on_mapped_;
  bool single_ = false;
};

}  // namespace

std::unique_ptr<ModelReader> path_reader(const std::string& path, MappedCheck on_mapped) {
  return std::make_unique<PathReader>(path, std::move(on_mapped));
}

}  // namespace cci::infer
