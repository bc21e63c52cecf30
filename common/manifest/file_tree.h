// Enumerates the files of a model directory the way OMS / model-transparency does
// (sigstore model-transparency v1.1, model_signing serialization; docs/manifest-format.md): every regular file below the root, named by its
// POSIX path relative to the root, sorted component by component (so "model/z.bin"
// sorts before "model-a.bin"), with ignore paths applied as path-prefix matches.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "base/utf8.h"

namespace cci::manifest {

struct TreeOptions {
  // Paths relative to the root, '/'-separated; a path ignores itself and everything below.
  std::vector<std::string> ignore_paths;
  // Without it any symbolic link is an error. With it, a link is followed and its target's
  // content is hashed under the link's name (directory links are walked; loops are errors).
  bool allow_symlinks = false;
};

struct TreeFile {
  std::string name;  // POSIX relative path, valid UTF-8 (basename for a single-file model)
  std::string path;  // path to open
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;  // st_mtim at enumeration, to detect changes while hashing
  std::int64_t ctime_ns = 0;  // st_ctim at enumeration (set by the kernel on any change)
  dev_t dev = 0;
  ino_t ino = 0;
};

// The default ignore list of the reference CLI (git metadata at the model root).
const std::vector<std::string>& default_git_ignores();

// Lists the files of `root` (a directory, or a single file). Errors (kInvalidInput unless
// noted): a symlink without allow_symlinks, a broken link or link loop, a special file
// (fifo, socket, device), a name that is not valid UTF-8; kIo for unreadable directories.
Result<std::vector<TreeFile>> list_model_files(const std::string& root, const TreeOptions& opts);

// Component-wise path ordering of Python's PurePosixPath (code point order per component).
bool path_less(std::string_view a, std::string_view b);

// True if `rel` equals one of `ignores` or lies below one of them.
bool is_ignored(std::string_view rel, const std::vector<std::string>& ignores);

// Normalises a user-given ignore path to the root-relative form used above: relative paths
// are taken relative to the model root, absolute paths must lie inside it. Returns the
// normalised path or kUsage.
Result<std::string> normalize_ignore_path(const std::string& root, const std::string& path);

using ::cci::is_valid_utf8;  // base/utf8.h

}  // namespace cci::manifest
