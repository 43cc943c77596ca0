// The avx512 build of the vector kernels (compiled with its instruction-set flags, see CMakeLists.txt).
#include "backends/native/simd_kernels.h"

namespace libscout::native_nn::avx512 {
constexpr int kLanes = 16;
constexpr const char* kName = "avx512";
#include "backends/native/simd_kernels.inc"
}  // namespace libscout::native_nn::avx512
