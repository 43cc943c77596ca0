// The memory limit for a model read from a file (compiled with or without ONNX: .npy inputs use
// it too).
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "onnx/onnx_import.h"

namespace libscout {

std::size_t default_model_memory_limit() {
  std::uint64_t limit = static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) *
                        static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    rlimit r{};
    if (getrlimit(resource, &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
      limit = std::min<std::uint64_t>(limit, r.rlim_cur);
    }
  }
  return static_cast<std::size_t>(std::min<std::uint64_t>(limit / 2, SIZE_MAX));
}

}  // namespace libscout
