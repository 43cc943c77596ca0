// The memory limit for a model read from a file (compiled with or without ONNX: .npy inputs use
// it too).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "onnx/onnx_import.h"

namespace libscout {

namespace {

// A 32-bit process cannot give one model more than half of its 4 GiB address space (the
// kernel's share, the libraries and the engine's buffers take the rest), and the physical memory
// it reads there is not to be trusted: qemu-user hands a 32-bit guest the host's byte count cut
// to 32 bits (the host's memory modulo 4 GiB, anything from nothing to 4 GiB), and a board with
// more memory than address space reports memory the process cannot map. So on 32-bit the
// limit derived from the memory is clamped to [256 MiB (half of a 512 MiB board), 2 GiB - 1];
// a process limit (ulimit -v, -d) still lowers it.
constexpr std::uint64_t kMinLimit32 = std::uint64_t(256) << 20;
constexpr std::uint64_t kMaxLimit32 = (std::uint64_t(2) << 30) - 1;

}  // namespace

std::size_t default_model_memory_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  // A system that does not say (-1) is taken as a 512 MiB board, the smallest this tool targets.
  const std::uint64_t memory =
      pages > 0 && page > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page)
                            : std::uint64_t(512) << 20;
  std::uint64_t limit = memory / 2;
  if constexpr (sizeof(void*) < 8) limit = std::clamp(limit, kMinLimit32, kMaxLimit32);
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit r{};
    if (getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
      limit = std::min<std::uint64_t>(limit, static_cast<std::uint64_t>(r.rlim_cur) / 2);
    }
  }
  return static_cast<std::size_t>(std::min<std::uint64_t>(limit, SIZE_MAX));
}

}  // namespace libscout
