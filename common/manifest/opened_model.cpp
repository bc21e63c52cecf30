#include "manifest/opened_model.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>

#include "base/file_io.h"

namespace cci::manifest {

Result<OpenedModel> OpenedModel::open(const std::string& root, const TreeOptions& opts) {
  CCI_ASSIGN(listed, list_model_files(root, opts));
  OpenedModel m;
  m.where_ = root;
  std::error_code ec;
  m.single_file_ = !std::filesystem::is_directory(root, ec);
  for (auto& f : listed) {
    const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | (opts.allow_symlinks ? 0 : O_NOFOLLOW);
    UniqueFd fd(::open(f.path.c_str(), flags));
    if (!fd.valid()) {
      const int err = errno;
      if (err == ELOOP) return make_error(ErrorCode::kVerificationFailed, f.name + ": became a symbolic link after it was listed", f.name);
      return make_error(ErrorCode::kIo, "cannot open " + f.name + ": " + errno_text(err), f.name);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return make_error(ErrorCode::kIo, "cannot stat " + f.name + ": " + errno_text(errno), f.name);
    if (!S_ISREG(st.st_mode) || st.st_dev != f.dev || st.st_ino != f.ino) {
      return make_error(ErrorCode::kVerificationFailed, f.name + ": replaced by another file while the model was being opened", f.name);
    }
    m.files_.push_back({std::move(f.name), std::move(fd)});
  }
  return m;
}

OpenedModel OpenedModel::adopt(std::string where, bool single_file, std::vector<OpenedFile> files) {
  OpenedModel m;
  m.where_ = std::move(where);
  m.single_file_ = single_file;
  m.files_ = std::move(files);
  return m;
}

const OpenedFile* OpenedModel::find(const std::string& name) const {
  for (const auto& f : files_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

}  // namespace cci::manifest
