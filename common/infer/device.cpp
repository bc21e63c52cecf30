#include "infer/device.h"

#include <charconv>

namespace cci::infer {

std::string Device::text() const { return is_cuda() ? "cuda:" + std::to_string(index) : "cpu"; }

Result<Device> parse_device(std::string_view text, const std::string& field) {
  auto bad = [&] {
    return make_error(ErrorCode::kUsage, "--" + field + " takes cpu, cuda or cuda:N, not '" + std::string(text) + "'", field);
  };
  if (text == "cpu") return Device{};
  if (text == "cuda") return Device{DeviceKind::kCuda, 0};
  constexpr std::string_view prefix = "cuda:";
  if (text.substr(0, prefix.size()) != prefix) return bad();
  const std::string_view digits = text.substr(prefix.size());
  int n = -1;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || digits.size() > 2 || ec != std::errc() || end != digits.data() + digits.size() || n < 0 || n >= 64) return bad();
  return Device{DeviceKind::kCuda, n};
}

}  // namespace cci::infer
