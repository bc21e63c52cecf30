// Text form of EFI-ordered GUIDs (base/guid.h).
#include "base/guid.h"

#include <utility>

#include "base/hex.h"

namespace cci {

std::string guid_text(ByteView g) {
  if (g.size() != 16) return "(invalid GUID)";
  Bytes be(g.begin(), g.end());
  std::swap(be[0], be[3]);
  std::swap(be[1], be[2]);
  std::swap(be[4], be[5]);
  std::swap(be[6], be[7]);
  std::string h = to_hex(be);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20);
}

}  // namespace cci
