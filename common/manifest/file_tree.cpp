#include "manifest/file_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "base/file_io.h"

namespace cci::manifest {
namespace fs = std::filesystem;
namespace {

std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

struct Walker {
  const TreeOptions& opts;
  std::vector<TreeFile> files;
  std::set<std::pair<dev_t, ino_t>> active_dirs;  // directories on the current path (loop check)

  Status add_entry(const std::string& path, const std::string& rel, int depth) {
    if (depth > 256) return make_error(ErrorCode::kInvalidInput, "directory nesting too deep at " + printable(rel), rel);
    struct stat lst {};
    if (::lstat(path.c_str(), &lst) != 0) {
      return make_error(ErrorCode::kIo, "cannot stat " + printable(path) + ": " + errno_text(errno), rel);
    }
    struct stat st = lst;
    if (S_ISLNK(lst.st_mode)) {
      if (!opts.allow_symlinks) {
        return make_error(ErrorCode::kInvalidInput,
                          "symbolic link " + printable(rel) + " is not allowed (use --allow-symlinks to hash its target)",
                          rel);
      }
      if (::stat(path.c_str(), &st) != 0) {
        int err = errno;
        std::string why = err == ELOOP ? "symbolic link loop" : "broken symbolic link";
        return make_error(ErrorCode::kInvalidInput, why + " at " + printable(rel) + ": " + errno_text(err), rel);
      }
    }
    if (S_ISDIR(st.st_mode)) return walk_dir(path, rel, st, depth);
    if (!S_ISREG(st.st_mode)) {
      return make_error(ErrorCode::kInvalidInput, printable(rel) + " is not a regular file or directory", rel);
    }
    if (!is_valid_utf8(rel)) {
      return make_error(ErrorCode::kInvalidInput,
                        "file name " + printable(rel) + " is not valid UTF-8 (OMS manifests name files in UTF-8)", rel);
    }
    TreeFile f;
    f.name = rel;
    f.path = path;
    f.size = static_cast<std::uint64_t>(st.st_size);
    f.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    f.ctime_ns = static_cast<std::int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    files.push_back(std::move(f));
    return {};
  }

  Status walk_dir(const std::string& path, const std::string& rel, const struct stat& st, int depth) {
    auto key = std::make_pair(st.st_dev, st.st_ino);
    if (active_dirs.count(key) != 0) {
      return make_error(ErrorCode::kInvalidInput, "symbolic link loop at " + printable(rel), rel);
    }
    DIR* d = ::opendir(path.c_str());
    if (d == nullptr) {
      return make_error(ErrorCode::kIo, "cannot read directory " + printable(path) + ": " + errno_text(errno), rel);
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return make_error(ErrorCode::kIo, "cannot read directory " + printable(path) + ": " + errno_text(err), rel);
    active_dirs.insert(key);
    for (const auto& n : names) {
      std::string child_rel = rel.empty() ? n : rel + "/" + n;
      if (is_ignored(child_rel, opts.ignore_paths)) continue;
      auto s = add_entry(path + "/" + n, child_rel, depth + 1);
      if (!s) return s;
    }
    active_dirs.erase(key);
    return {};
  }
};

}  // namespace

const std::vector<std::string>& default_git_ignores() {
  static const std::vector<std::string> k{".git", ".gitattributes", ".github", ".gitignore"};
  return k;
}

bool path_less(std::string_view a, std::string_view b) {
  // Compare component by component; a proper prefix (fewer components) sorts first.
  size_t ia = 0, ib = 0;
  for (;;) {
    if (ia > a.size() || ib > b.size()) break;
    size_t ea = a.find('/', ia), eb = b.find('/', ib);
    if (ea == std::string_view::npos) ea = a.size();
    if (eb == std::string_view::npos) eb = b.size();
    std::string_view ca = a.substr(ia, ea - ia), cb = b.substr(ib, eb - ib);
    // UTF-8 byte order equals code point order.
    int cmp = ca.compare(cb);
    if (cmp != 0) return cmp < 0;
    bool end_a = ea == a.size(), end_b = eb == b.size();
    if (end_a || end_b) return end_a && !end_b;
    ia = ea + 1;
    ib = eb + 1;
  }
  return false;
}

bool is_ignored(std::string_view rel, const std::vector<std::string>& ignores) {
  for (const auto& ig : ignores) {
    if (ig.empty()) continue;
    if (rel == ig) return true;
    if (rel.size() > ig.size() && rel.compare(0, ig.size(), ig) == 0 && rel[ig.size()] == '/') return true;
  }
  return false;
}

Result<std::string> normalize_ignore_path(const std::string& root, const std::string& path) {
  std::error_code ec;
  fs::path base = fs::weakly_canonical(fs::absolute(root, ec), ec);
  fs::path p(path);
  fs::path full = p.is_absolute() ? p : base / p;
  full = full.lexically_normal();
  fs::path rel = full.lexically_relative(base);
  std::string r = rel.generic_string();
  if (rel.empty() || r == "." || r.rfind("..", 0) == 0) {
    return make_error(ErrorCode::kUsage, "ignore path " + path + " is not inside the model directory " + root);
  }
  if (!r.empty() && r.back() == '/') r.pop_back();
  return r;
}

Result<std::vector<TreeFile>> list_model_files(const std::string& root, const TreeOptions& opts) {
  struct stat st {};
  if (::stat(root.c_str(), &st) != 0) {
    return make_error(ErrorCode::kIo, "cannot access " + root + ": " + errno_text(errno), root);
  }
  Walker w{opts, {}, {}};
  if (S_ISDIR(st.st_mode)) {
    auto s = w.walk_dir(root, "", st, 0);
    if (!s) return s.error();
  } else {
    // A single-file model is named by its basename (reference behaviour).
    std::string base = fs::path(root).filename().string();
    auto s = w.add_entry(root, base, 0);
    if (!s) return s.error();
  }
  std::sort(w.files.begin(), w.files.end(),
            [](const TreeFile& a, const TreeFile& b) { return path_less(a.name, b.name); });
  return std::move(w.files);
}

}  // namespace cci::manifest
