#include "base/huge_pages.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

namespace cci {

void advise_huge_pages(void* p, size_t n) {
  if (p != nullptr && n >= kHugePageBytes) (void)::madvise(p, n, MADV_HUGEPAGE);
}

bool shmem_huge_pages_need_advice() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
  std::string line;
  return std::getline(in, line) && line.find("[advise]") != std::string::npos;
}

Result<HugePageMemory> HugePageMemory::map(size_t bytes) {
  const size_t len = bytes + kHugePageBytes;  // room to start on a 2 MiB boundary
  void* region = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (region == MAP_FAILED) {
    return make_error(ErrorCode::kIo, "cannot map " + std::to_string(bytes) + " bytes of memory: " + std::strerror(errno), "memory");
  }
  void* data = reinterpret_cast<void*>((reinterpret_cast<std::uintptr_t>(region) + kHugePageBytes - 1) & ~std::uintptr_t{kHugePageBytes - 1});
  advise_huge_pages(data, bytes);
  (void)::madvise(region, len, MADV_DONTDUMP);
  return HugePageMemory(region, len, data, bytes);
}

HugePageMemory::HugePageMemory(HugePageMemory&& o) noexcept : region_(o.region_), len_(o.len_), data_(o.data_), size_(o.size_) {
  o.region_ = nullptr;
  o.len_ = 0;
}

HugePageMemory::~HugePageMemory() {
  if (region_ != nullptr) ::munmap(region_, len_);
}

}  // namespace cci
