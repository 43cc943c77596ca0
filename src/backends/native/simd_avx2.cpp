// The avx2 build of the vector kernels (compiled with its instruction-set flags, see CMakeLists.txt).
#include "backends/native/simd_kernels.h"

namespace libscout::native_nn::avx2 {
constexpr int kLanes = 8;
constexpr const char* kName = "avx2";
#include "backends/native/simd_kernels.inc"
}  // namespace libscout::native_nn::avx2
