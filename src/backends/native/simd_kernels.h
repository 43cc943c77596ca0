// The native backend's vector kernels: one source (simd_kernels.inc, written with GCC vector
// extensions) compiled once per instruction set with that set's flags (simd_avx2.cpp,
// simd_avx512.cpp, simd_neon.cpp, and simd_portable.cpp with none), each into its own namespace.
// The kernel files include only this header, so that nothing from the standard library is
// compiled with flags the CPU may lack. simd_table.cpp picks the fastest set this CPU runs.
#pragma once

namespace libscout::gemm::native {
struct SgemmUkernel;
}

namespace libscout::native_nn {

// One channel of a 3x3 depthwise convolution on a plane packed (conv_kernels.cpp) so that every
// output is the same 9-tap dot product at fixed offsets, whatever the stride and padding: with
// the flat index f = oy * pitch + ox,
//   flat[f] = act(bias + sum over t < 9 of w[t] * taps[t][f]),
// where columns ox >= out_w of the flat grid are junk (they straddle two rows). Rows at least a
// vector wide go straight to `out` (dense, row stride out_w); narrower ones are computed a few
// grid rows at a time into `scratch` and copied out. Each taps[t] is readable up to
// out_h * pitch + 64 floats; scratch holds depthwise_scratch_floats(pitch) floats.
struct DepthwisePlane {
  const float* taps[9];
  long pitch;
  int out_h, out_w;
  const float* w;  // 9 taps
  float bias;
  float lo, hi;  // the activation's clamp
  float* scratch;
  float* out;
};

// One channel of a 3x3 window read straight from the input plane (h x w, rows w floats apart)
// with no packed copy, into out (out_h x out_w; out_w at least one vector, or narrower rows with
// the output plane at least one vector and, for stride 2, the input plane at least two):
//   depthwise, stride 1, padding 1 on every side: out_h = h, out_w = w; the first and last vector
//     of each row shift in the zero columns (rows narrower than a vector: one vector per row);
//   depthwise, stride 2, padding 1 at the top and left, every window inside the plane otherwise
//     (2 * out_h <= h, 2 * out_w <= w): each vector of outputs deinterleaves the input columns in
//     registers;
//   max pooling, stride 2, no padding, every window inside the plane (2 * out_w < w, 2 * out_h < h;
//     weights, bias, clamp and zeros unused).
// Rows outside the plane are read from `zeros` (w + 1 floats of zeros).
struct DepthwiseSame {
  const float* in;
  int h, w, stride;
  const float* weights;  // 9 taps
  float bias, lo, hi;
  const float* zeros;
  float* out;
  int out_h, out_w;
};

// Rows of the flat grid computed per chunk, and the scratch that chunk needs (a multiple of every
// build's vector, plus one vector block of slack).
inline long depthwise_chunk_rows(long pitch) { return pitch >= 1024 ? 1 : 1024 / pitch; }
inline long depthwise_scratch_floats(long pitch) {
  return depthwise_chunk_rows(pitch) * pitch + 4 * 16;
}

// One block of `lanes` channels of a 3x3 depthwise convolution, vectorized across the channels
// (for small planes, where a plane's rows are shorter than a few vectors): the block's input is
// transposed into a zero-padded position-major buffer (each position one vector of the block's
// channels), every output position is then 9 FMAs on whole vectors, and the outputs are
// transposed back. Channel i of the block is at in + i * in_plane (rows in_w apart), its
// outputs at out + i * out_plane. w holds the block's weights tap-major (w[t * lanes + i]),
// bias its biases (lanes floats). scratch holds depthwise_blocked_floats(...) floats, whose
// padding positions must be zero (the kernel writes only the input's positions).
struct DepthwiseBlock {
  const float* in;
  long in_plane;
  int in_h, in_w, pad_top, pad_left, stride, out_h, out_w;
  const float* w;
  const float* bias;
  float lo, hi;
  float* scratch;
  float* out;
  long out_plane;
};

// Padded rows and columns of the block's input buffer, and the scratch the kernel needs.
inline int depthwise_blocked_rows(int out_h, int stride) { return (out_h - 1) * stride + 3; }
inline long depthwise_blocked_floats(int out_h, int out_w, int stride, int lanes) {
  const long padded = static_cast<long>(depthwise_blocked_rows(out_h, stride)) *
                      depthwise_blocked_rows(out_w, stride);
  return (padded + static_cast<long>(out_h) * out_w + lanes) * lanes;
}

// Output rows [row_begin, row_end) of a dense 3x3 convolution with few input channels (a
// network's first layer), computed directly: for each output channel co,
//   out[co][f] = act(bias[co] + sum over ci < cin, t < 9 of w[co][ci][t] * taps[ci * 9 + t][f])
// with each input channel packed as for DepthwisePlane and f = oy * pitch + ox. Requires out_w of
// at least one vector; rows go straight to out (channel co, row oy at
// out + co * out_plane + oy * out_w).
struct DirectConvRows {
  const float* const* taps;
  int cin, couts;
  long pitch;
  int out_w, row_begin, row_end;
  const float* w;     // [couts][cin][9]
  const float* bias;  // [couts], or null
  float lo, hi;       // the activation's clamp
  float* out;
  long out_plane;
};

// Winograd F(4x4, 3x3) transforms of the tiles [0, count) of one tile row, one channel,
// vectorized across the tiles (tile l is lane l of a chunk of `lanes`).
// Input, v = B^T d B: the padded input is given as four phase planes (phase q holds the padded
// columns 4k + q at column k), so that element (i, j) of tile l is
//   phase[(j % 4) * phase_stride + i * pitch + j / 4 + l];
// element xi = i * 6 + j of V of tile l is written to v[xi * point_stride + l]. Whole vectors are
// loaded and stored: count rounded up to the vector width is read and written.
struct WinogradInputRow {
  const float* phase;
  long phase_stride, pitch;
  int count;
  float* v;
  long point_stride;
};

// The phase planes of one channel's padded input rows [y0, y0 + rows) (padded row y is input row
// y - pad_top, padded column x input column x - pad_left, zero outside the input): phase q, row r,
// column k at phase[q * phase_stride + r * pitch + k] = padded (y0 + r, 4k + q), for k < pitch
// (a multiple of the vector width).
struct WinogradPhaseRows {
  const float* in;
  int in_h, in_w, pad_top, pad_left, y0, rows;
  float* phase;
  long phase_stride, pitch;
};

// Output, y = A^T m A + bias, then the clamp: element xi of M of tile l at
// m[xi * point_stride + l] (read in whole vectors, as above); output (i, j) of tile l goes to
// out[i * out_stride + 4 * l + j] for the rows i < rows and the columns 4 * l + j < cols only.
struct WinogradOutputRow {
  const float* m;
  long point_stride;
  int count;
  float bias, lo, hi;
  float* out;
  long out_stride;
  int rows, cols;
};

// Bias per row (may be null) and the clamp over a rows x cols tile of C (row stride ldc).
struct TileEpilogue {
  float* c;
  long ldc;
  int rows, cols;
  const float* bias;
  float lo, hi;
};

// Rows of floats to copy: row r of src at src + r * src_stride, of dst at dst + r * dst_stride.
// deinterleave_rows writes even[i] = src[2i] to dst and odd[i] = src[2i + 1] to dst2 (same
// stride) for i < n; copy_rows writes dst[i] = src[i] for i < n.
struct RowBlock {
  const float* src;
  long src_stride;
  float* dst;
  float* dst2;
  long dst_stride;
  int rows;
  long n;
};

// A finished tile of C^T (the transposed GEMM, transposed_gemm.h): `rows` columns of C (pixels)
// by `cols` rows of C (output channels), tile[r * ld + j]; written to C transposed,
// c[j * ldc + r] = clamp(tile[r * ld + j] + bias[j]). ld is a multiple of the vector width.
struct TransposedTile {
  const float* tile;
  int ld, rows, cols;
  const float* bias;  // per row of C (may be null)
  float lo, hi;
  float* c;
  long ldc;
};

// Rows [0, rows) of a matrix-vector product with the bias and clamp:
//   y[j] = clamp(bias[j] + sum over q < k of w[j * k + q] * x[q])       (bias may be null)
// (a fully connected layer at batch 1: memory-bound on w, four rows per pass over x).
struct GemvArgs {
  const float* w;
  const float* x;
  long k;
  int rows;
  const float* bias;
  float lo, hi;
  float* y;
};

struct SimdKernels {
  const char* name;      // "avx2", "avx512", "neon", "portable"
  int lanes;             // floats per vector
  void (*depthwise3x3)(const DepthwisePlane& p);
  void (*depthwise3x3_same)(const DepthwiseSame& a);
  // The same window's maximum (w and bias unused; the plane's padding holds the lowest float).
  void (*maxpool3x3)(const DepthwisePlane& p);
  void (*maxpool3x3_same)(const DepthwiseSame& a);
  void (*direct3x3)(const DirectConvRows& a);
  void (*depthwise_blocked)(const DepthwiseBlock& b);
  void (*winograd_phases)(const WinogradPhaseRows& a);
  void (*winograd_input_row)(const WinogradInputRow& a);
  void (*winograd_output_row)(const WinogradOutputRow& a);
  void (*tile_epilogue)(const TileEpilogue& e);
  void (*transposed_epilogue)(const TransposedTile& t);
  void (*gemv)(const GemvArgs& a);
  // Depthwise packing, `rows` rows at once (a call per row costs more than a row of a few dozen
  // floats): copy_rows copies n floats of each row, deinterleave_rows splits n pairs of each row.
  void (*copy_rows)(const RowBlock& b);
  void (*deinterleave_rows)(const RowBlock& b);
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

// The fastest set this CPU supports (by the native SGEMM's own CPU checks) within the instructions
// of the native SGEMM's chosen micro-kernel (gemm::native::best_sgemm_ukernel, which
// LIBSCOUT_NATIVE_KERNEL may set to a narrower one), so both parts of the backend run one
// instruction set.
const SimdKernels& best_simd_kernels();
// The same for a given micro-kernel of gemm::native::sgemm_ukernels().
const SimdKernels& simd_kernels_for(const gemm::native::SgemmUkernel& chosen);
// Every set compiled in whose instructions this CPU runs, fastest first (tests and benchmarks).
int supported_simd_kernels(const SimdKernels** out, int capacity);

}  // namespace libscout::native_nn
