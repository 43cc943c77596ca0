// The portable build of the vector kernels: GCC lowers the vectors to whatever the target's
// baseline has (SSE2 on x86-64, scalar VFP on armhf without NEON).
#include "backends/native/simd_kernels.h"

namespace libscout::native_nn::portable {
constexpr int kLanes = 4;
constexpr const char* kName = "portable";
#include "backends/native/simd_kernels.inc"
}  // namespace libscout::native_nn::portable
