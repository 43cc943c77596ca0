// The neon build of the vector kernels (compiled with its instruction-set flags, see CMakeLists.txt).
#include "backends/native/simd_kernels.h"

namespace libscout::native_nn::neon {
constexpr int kLanes = 4;
constexpr const char* kName = "neon";
#include "backends/native/simd_kernels.inc"
}  // namespace libscout::native_nn::neon
