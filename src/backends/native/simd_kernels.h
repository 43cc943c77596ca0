// The native backend's vector kernels: one source (simd_kernels.inc, written with GCC vector
// extensions) compiled once per instruction set with that set's flags (simd_avx2.cpp,
// simd_avx512.cpp, simd_neon.cpp, and simd_portable.cpp with none), each into its own namespace.
// The kernel files include only this header, so that nothing from the standard library is
// compiled with flags the CPU may lack. simd_table.cpp picks the fastest set this CPU runs.
#pragma once

namespace libscout::native_nn {

// One channel of a 3x3 depthwise convolution (stride 1 or 2) on a plane packed by
// pack_depthwise_plane (depthwise.h): zero padding made real, columns split into `stride` phases
// (phase r holds padded columns r, r + stride, ...), each phase row `pitch` floats long and
// readable at least 4 vectors past the last output. out[oy * out_w + ox] = act(bias + sum over
// ky, kx of w[ky * 3 + kx] * padded[oy * stride + ky][ox * stride + kx]).
struct DepthwisePlane {
  const float* phases[2];  // phase r's row 0; row y at phases[r] + y * pitch
  long pitch;
  int stride;
  int out_h, out_w;
  const float* w;  // 9 taps
  float bias;
  float lo, hi;  // the activation's clamp
  float* out;
};

// Winograd F(4x4, 3x3) transforms over `lanes` independent 6x6 (input) or 6x6 -> 4x4 (output)
// tiles at once, lane-interleaved: element e of lane l at [e * lanes + l].
//   input:  v = B^T d B       (d: 36 x lanes in, v: 36 x lanes out)
//   output: y = A^T m A       (m: 36 x lanes in, element e at m + e * m_stride; y: 16 x lanes
//           out), plus bias per lane, then the clamp.
struct WinogradOutputArgs {
  const float* m;
  long m_stride;
  float* y;
  const float* bias;  // per lane (may be null)
  float lo, hi;
};

// Bias per row (may be null) and the clamp over a rows x cols tile of C (row stride ldc).
struct TileEpilogue {
  float* c;
  long ldc;
  int rows, cols;
  const float* bias;
  float lo, hi;
};

struct SimdKernels {
  const char* name;      // "avx2", "avx512", "neon", "portable"
  int winograd_lanes;    // tiles per call of the Winograd transforms
  void (*depthwise3x3)(const DepthwisePlane& p);
  void (*winograd_input)(const float* d, float* v);
  void (*winograd_output)(const WinogradOutputArgs& a);
  void (*tile_epilogue)(const TileEpilogue& e);
  // even[i] = src[2i], odd[i] = src[2i + 1] for i < n (stride-2 depthwise packing).
  void (*deinterleave)(const float* src, long n, float* even, float* odd);
};

namespace portable {
extern const SimdKernels kKernels;
}
#if defined(__x86_64__)
namespace avx2 {
extern const SimdKernels kKernels;
}
namespace avx512 {
extern const SimdKernels kKernels;
}
#endif
#if defined(__aarch64__) || defined(__arm__)
namespace neon {
extern const SimdKernels kKernels;
}
#endif

// The fastest set this CPU supports (by the native SGEMM's own CPU checks).
const SimdKernels& best_simd_kernels();
// Every set compiled in whose instructions this CPU runs, fastest first (tests and benchmarks).
int supported_simd_kernels(const SimdKernels** out, int capacity);

}  // namespace libscout::native_nn
