#include "sim/sim_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "base/file_io.h"

namespace cci::sim::detail {

Result<std::string> create_platform_dir(const std::string& dir, const std::string& sub) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message(), dir);
  const std::string d = dir + "/" + sub;
  if (::mkdir(d.c_str(), 0755) != 0) {
    if (errno == EEXIST) return make_error(ErrorCode::kInvalidInput, d + " already exists: a simulated platform is never overwritten", d);
    return make_error(ErrorCode::kIo, "cannot create " + d + ": " + std::strerror(errno), d);
  }
  return d;
}

crypto::CertificateSpec sim_certificate_spec(std::vector<std::pair<std::string, std::string>> subject, std::uint64_t serial, bool ca) {
  crypto::CertificateSpec spec;
  spec.subject = std::move(subject);
  spec.serial = serial;
  const std::time_t now = std::time(nullptr);
  spec.not_before = now - 86400;
  spec.not_after = now + 25L * 365 * 86400;
  spec.ca = ca;
  return spec;
}

Status write_private_key(const std::string& file, const crypto::PrivateKey& key) {
  auto pem = key.pem(std::nullopt);
  if (!pem) return pem.error();
  Status st = write_file_atomic(file, ByteView(reinterpret_cast<const std::uint8_t*>(pem->data()), pem->size()), 0600);
  std::fill(pem->begin(), pem->end(), '\0');
  return st;
}

Status write_public(const std::string& file, ByteView data) { return write_file_atomic(file, data, 0644); }

Result<crypto::PrivateKey> read_private_key(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return make_error(ErrorCode::kIo, "simulator key " + file + " is missing: run cci-run sim init", file);
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    return make_error(ErrorCode::kInvalidInput, "simulator key " + file + " has mode " + mode + ", open to others: chmod 600 it", file);
  }
  if (st.st_uid != ::geteuid()) return make_error(ErrorCode::kInvalidInput, "simulator key " + file + " belongs to another user", file);
  auto data = read_file(file, 1 << 16);
  if (!data) return data.error();
  auto key = crypto::load_private_key_pem(*data, std::nullopt);
  std::fill(data->begin(), data->end(), 0);
  return key;
}

Result<std::uint64_t> platform_uint(const nlohmann::json& j, const char* key, std::uint64_t max, const std::string& where) {
  const auto it = j.is_object() ? j.find(key) : j.end();
  if (it == j.end() || !it->is_number_unsigned() || it->get<std::uint64_t>() > max) {
    return make_error(ErrorCode::kMalformed, where + ": " + key + " is not an integer in 0.." + std::to_string(max), "platform.json");
  }
  return it->get<std::uint64_t>();
}

}  // namespace cci::sim::detail
