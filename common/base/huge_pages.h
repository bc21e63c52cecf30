// Memory that is read front to back many times (model weights, the KV cache, benchmark
// buffers) streams faster from physically contiguous 2 MiB pages than from scattered 4 KiB
// pages: 1.5 x on the machines measured (docs/performance.md). These helpers ask the kernel for
// them; they are hints, and memory without them works the same, only slower.
#pragma once

#include <cstddef>

#include "base/result.h"

namespace cci {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// madvise(MADV_HUGEPAGE) on [p, p + n) when n is at least one huge page; errors are ignored.
void advise_huge_pages(void* p, size_t n);

// Whether shared memory (memfds) gets 2 MiB pages only through a mapping that asked for them:
// the kernel's shmem_enabled policy is "advise" (/sys/kernel/mm/transparent_hugepage, see the
// kernel's Documentation/admin-guide/mm/transhuge.rst). With "always", "within_size" or "force"
// writes with pwrite() get them too; with "never" or "deny" nothing does.
bool shmem_huge_pages_need_advice();

// Anonymous, zeroed, private memory of `bytes` bytes starting on a 2 MiB boundary, with 2 MiB
// pages where the kernel gives them, never in a core dump; unmapped on destruction.
class HugePageMemory {
 public:
  static Result<HugePageMemory> map(size_t bytes);
  HugePageMemory(HugePageMemory&& o) noexcept;
  HugePageMemory(const HugePageMemory&) = delete;
  HugePageMemory& operator=(const HugePageMemory&) = delete;
  HugePageMemory& operator=(HugePageMemory&&) = delete;
  ~HugePageMemory();

  void* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  HugePageMemory(void* region, size_t len, void* data, size_t size) : region_(region), len_(len), data_(data), size_(size) {}
  void* region_;
  size_t len_;
  void* data_;
  size_t size_;
};

}  // namespace cci
