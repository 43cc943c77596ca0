// Kernels of `gemm:cublas` (see kernels.h). Elementwise kernels use grid-stride loops over 64-bit
// indices, so any batch fits one launch; reductions use a warp (global average pooling) or a block
// (softmax) per output row.
#include "backends/gemm_cublas/kernels.h"

#include <cfloat>

namespace libscout::gemm_cublas {
namespace {

constexpr int kThreads = 256;
constexpr unsigned kMaxBlocks = 65535u * 16u;

unsigned blocks_for(std::size_t count) {
  const std::size_t b = (count + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < kMaxBlocks ? b : kMaxBlocks);
}

__device__ __forceinline__ float activate(float v, Act act) {
  if (act == Act::kRelu) return fmaxf(v, 0.0f);
  if (act == Act::kRelu6) return fminf(fmaxf(v, 0.0f), 6.0f);
  return v;
}

#define LIBSCOUT_GRID_STRIDE(i, count)                                                  \
  for (std::size_t i = static_cast<std::size_t>(blockIdx.x) * blockDim.x + threadIdx.x; \
       i < (count); i += static_cast<std::size_t>(gridDim.x) * blockDim.x)

__global__ void im2col_kernel(const float* __restrict__ image, ConvGeometry g,
                              float* __restrict__ col, std::size_t count) {
  const std::size_t out_plane = static_cast<std::size_t>(g.out_h) * g.out_w;
  LIBSCOUT_GRID_STRIDE(i, count) {
    const std::size_t row = i / out_plane, pixel = i % out_plane;
    const int kx = static_cast<int>(row % g.kernel_w);
    const int ky = static_cast<int>(row / g.kernel_w % g.kernel_h);
    const int c = static_cast<int>(row / (static_cast<std::size_t>(g.kernel_w) * g.kernel_h));
    const int oy = static_cast<int>(pixel / g.out_w), ox = static_cast<int>(pixel % g.out_w);
    const int iy = oy * g.stride_h - g.pad_top + ky * g.dilation_h;
    const int ix = ox * g.stride_w - g.pad_left + kx * g.dilation_w;
    float v = 0.0f;
    if (iy >= 0 && iy < g.height && ix >= 0 && ix < g.width) {
      v = image[(static_cast<std::size_t>(c) * g.height + iy) * g.width + ix];
    }
    col[i] = v;
  }
}

__global__ void bias_activation_kernel(float* y, const float* __restrict__ bias, std::size_t count,
                                       int channels, std::size_t plane, Act act) {
  LIBSCOUT_GRID_STRIDE(i, count) {
    const float b = bias != nullptr ? bias[i / plane % channels] : 0.0f;
    y[i] = activate(y[i] + b, act);
  }
}

__global__ void add_activation_kernel(const float* a, const float* b, float* y, std::size_t count,
                                      Act act) {
  LIBSCOUT_GRID_STRIDE(i, count) { y[i] = activate(a[i] + (b != nullptr ? b[i] : 0.0f), act); }
}

__global__ void scale_shift_kernel(const float* __restrict__ x, const float* __restrict__ scale,
                                   const float* __restrict__ shift, float* __restrict__ y,
                                   std::size_t count, int channels, std::size_t plane) {
  LIBSCOUT_GRID_STRIDE(i, count) {
    const std::size_t c = i / plane % channels;
    y[i] = fmaf(x[i], scale[c], shift[c]);
  }
}

// One output element per thread. The window is clipped to the padded input (Caffe), then to the
// input; average pooling divides by the first count or the second (count_include_pad).
__global__ void pool2d_kernel(const float* __restrict__ x, float* __restrict__ y, PoolGeometry g,
                              std::size_t count) {
  LIBSCOUT_GRID_STRIDE(i, count) {
    const int ox = static_cast<int>(i % g.out_w);
    const int oy = static_cast<int>(i / g.out_w % g.out_h);
    const std::size_t p = i / (static_cast<std::size_t>(g.out_w) * g.out_h);
    const int y0 = oy * g.stride_h - g.pad_h, x0 = ox * g.stride_w - g.pad_w;
    const int y1 = min(y0 + g.kernel_h, g.height + g.pad_h);
    const int x1 = min(x0 + g.kernel_w, g.width + g.pad_w);
    const int ys = max(y0, 0), xs = max(x0, 0), ye = min(y1, g.height), xe = min(x1, g.width);
    const float* plane = x + p * g.height * g.width;
    float acc = g.max ? -INFINITY : 0.0f;
    for (int iy = ys; iy < ye; ++iy) {
      for (int ix = xs; ix < xe; ++ix) {
        const float v = plane[iy * g.width + ix];
        acc = g.max ? fmaxf(acc, v) : acc + v;
      }
    }
    if (!g.max) {
      const int n = g.count_include_pad ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
      acc = n > 0 ? acc / static_cast<float>(n) : 0.0f;
    }
    y[i] = acc;
  }
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// One warp per plane.
__global__ void global_avg_pool_kernel(const float* __restrict__ x, float* __restrict__ y,
                                       int planes, std::size_t plane) {
  const int warp = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32, lane = threadIdx.x % 32;
  if (warp >= planes) return;
  const float* p = x + static_cast<std::size_t>(warp) * plane;
  float acc = 0.0f;
  for (std::size_t i = lane; i < plane; i += 32) acc += p[i];
  acc = warp_sum(acc);
  if (lane == 0) y[warp] = acc / static_cast<float>(plane);
}

// Reduces over the block (max or sum); every thread gets the result.
template <bool kMax>
__device__ float block_reduce(float v, float* shared) {
  for (int o = 16; o > 0; o >>= 1) {
    const float other = __shfl_down_sync(0xffffffffu, v, o);
    v = kMax ? fmaxf(v, other) : v + other;
  }
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    float r = shared[0];
    for (int w = 1; w < warps; ++w) r = kMax ? fmaxf(r, shared[w]) : r + shared[w];
    shared[32] = r;
  }
  __syncthreads();
  const float r = shared[32];
  __syncthreads();  // shared is reused by the next reduction
  return r;
}

// One block per (image, pixel): the row of `channels` values `plane` apart.
__global__ void softmax_kernel(const float* __restrict__ x, float* __restrict__ y, int channels,
                               std::size_t plane) {
  __shared__ float shared[33];
  const std::size_t n = blockIdx.x / plane, pixel = blockIdx.x % plane;
  const std::size_t base = n * channels * plane + pixel;
  float mx = -FLT_MAX;
  for (int c = threadIdx.x; c < channels; c += blockDim.x) mx = fmaxf(mx, x[base + c * plane]);
  mx = block_reduce<true>(mx, shared);
  float sum = 0.0f;
  for (int c = threadIdx.x; c < channels; c += blockDim.x) sum += expf(x[base + c * plane] - mx);
  sum = block_reduce<false>(sum, shared);
  const float inv = 1.0f / sum;
  for (int c = threadIdx.x; c < channels; c += blockDim.x) {
    y[base + c * plane] = expf(x[base + c * plane] - mx) * inv;
  }
}

}  // namespace

cudaError_t im2col(const float* image, const ConvGeometry& g, float* col, cudaStream_t stream) {
  const std::size_t count = static_cast<std::size_t>(g.channels) * g.kernel_h * g.kernel_w *
                            g.out_h * g.out_w;
  if (count == 0) return cudaSuccess;
  im2col_kernel<<<blocks_for(count), kThreads, 0, stream>>>(image, g, col, count);
  return cudaGetLastError();
}

cudaError_t bias_activation(float* y, const float* bias, std::size_t count, int channels,
                            std::size_t plane, Act act, cudaStream_t stream) {
  if (count == 0 || (bias == nullptr && act == Act::kNone)) return cudaSuccess;
  bias_activation_kernel<<<blocks_for(count), kThreads, 0, stream>>>(y, bias, count, channels,
                                                                     plane, act);
  return cudaGetLastError();
}

cudaError_t add_activation(const float* a, const float* b, float* y, std::size_t count, Act act,
                           cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  add_activation_kernel<<<blocks_for(count), kThreads, 0, stream>>>(a, b, y, count, act);
  return cudaGetLastError();
}

cudaError_t scale_shift(const float* x, const float* scale, const float* shift, float* y,
                        std::size_t count, int channels, std::size_t plane, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  scale_shift_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, scale, shift, y, count,
                                                                 channels, plane);
  return cudaGetLastError();
}

cudaError_t pool2d(const float* x, float* y, const PoolGeometry& g, cudaStream_t stream) {
  const std::size_t count = static_cast<std::size_t>(g.planes) * g.out_h * g.out_w;
  if (count == 0) return cudaSuccess;
  pool2d_kernel<<<blocks_for(count), kThreads, 0, stream>>>(x, y, g, count);
  return cudaGetLastError();
}

cudaError_t global_avg_pool(const float* x, float* y, int planes, std::size_t plane,
                            cudaStream_t stream) {
  if (planes == 0 || plane == 0) return cudaSuccess;
  constexpr int kWarps = kThreads / 32;
  const unsigned blocks = static_cast<unsigned>((planes + kWarps - 1) / kWarps);
  global_avg_pool_kernel<<<blocks, kThreads, 0, stream>>>(x, y, planes, plane);
  return cudaGetLastError();
}

cudaError_t softmax_channels(const float* x, float* y, int batch, int channels, std::size_t plane,
                             cudaStream_t stream) {
  const std::size_t rows = static_cast<std::size_t>(batch) * plane;
  if (rows == 0 || channels == 0) return cudaSuccess;
  const int threads = channels >= 256 ? 256 : (channels >= 64 ? 64 : 32);
  softmax_kernel<<<static_cast<unsigned>(rows), threads, 0, stream>>>(x, y, channels, plane);
  return cudaGetLastError();
}

}  // namespace libscout::gemm_cublas
