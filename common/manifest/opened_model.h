// A model's files opened once. Read once, verify once, use those bytes: every file of the model
// is opened a single time (O_NOFOLLOW unless the signed serialization allows symbolic links),
// its identity (device, inode) checked against the directory listing, and from then on read,
// hashed and mapped only through that descriptor. A host that renames another file over a
// checked one afterwards changes nothing the process uses. The descriptors can be handed to
// another process (cci-run serve passes them to its workers), which then uses the very files
// the parent checked. What stays open is a file rewritten in place; see docs/security.md.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "base/unique_fd.h"
#include "manifest/file_tree.h"

namespace cci::manifest {

struct OpenedFile {
  std::string name;  // POSIX relative path (the basename for a single-file model)
  UniqueFd fd;
};

class OpenedModel {
 public:
  // Lists `root` (a directory, or one file) as the model hasher does and opens every file.
  static Result<OpenedModel> open(const std::string& root, const TreeOptions& opts);
  // Files opened elsewhere (descriptors received from the process that checked them).
  static OpenedModel adopt(std::string where, bool single_file, std::vector<OpenedFile> files);

  const std::string& where() const { return where_; }  // the directory or file, for messages
  bool single_file() const { return single_file_; }
  const std::vector<OpenedFile>& files() const { return files_; }
  const OpenedFile* find(const std::string& name) const;
  // Hands the descriptors over (to a process that serves them to others); leaves none here.
  std::vector<OpenedFile> take_files() { return std::move(files_); }

 private:
  std::string where_;
  bool single_file_ = false;
  std::vector<OpenedFile> files_;  // listing order
};

}  // namespace cci::manifest
