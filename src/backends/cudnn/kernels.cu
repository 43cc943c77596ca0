#include "backends/cudnn/kernels.h"

#include <algorithm>
#include <string>

#include "core/error.h"

namespace libscout::cudnn {
namespace {

constexpr int kThreads = 256;
constexpr std::int64_t kMaxBlocks = 1 << 15;  // grid-stride loops cover the rest

// Launch shape of an elementwise kernel over `total` items.
dim3 blocks_for(std::int64_t total) {
  return dim3(static_cast<unsigned>(std::clamp<std::int64_t>((total + kThreads - 1) / kThreads, 1,
                                                             kMaxBlocks)));
}

void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) {
    std::string msg = std::string("cudnn backend: launching ") + kernel + ": " + cudaGetErrorString(e);
    if (e == cudaErrorMemoryAllocation) msg += " (out of GPU memory)";
    throw Error(msg);
  }
}

// 32-bit index arithmetic when every offset of the views fits, 64-bit otherwise.
bool fits_int32(std::initializer_list<DeviceView> views) {
  for (const DeviceView& v : views) {
    if (static_cast<double>(v.batch_stride) * v.n + v.image_elements() >= 2147483647.0) {
      return false;
    }
  }
  return true;
}

__device__ __forceinline__ float activate(float x, int act) {
  if (act == 1) return fmaxf(x, 0.0f);
  if (act == 2) return fminf(fmaxf(x, 0.0f), 6.0f);
  return x;
}

// Grid-stride loop over i in [0, total).
#define LIBSCOUT_FOR_EACH(I, i, total)                                                   \
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < (total);        \
       i += static_cast<I>(gridDim.x) * blockDim.x)

template <typename I>
__global__ void bias_activation_kernel(float* y, I stride, I image, I plane, I total,
                                       const float* bias, int act) {
  LIBSCOUT_FOR_EACH(I, i, total) {
    const I n = i / image, r = i - n * image;
    float* p = y + n * stride + r;
    float v = *p;
    if (bias != nullptr) v += bias[r / plane];
    *p = activate(v, act);
  }
}

// Four floats at a time: the plane size, the batch stride and the base are multiples of four
// floats (16 bytes), so a vector never straddles two channels or two images.
__global__ void bias_activation4_kernel(float4* y, int stride4, int image4, int plane4, int total4,
                                        const float* bias, int act) {
  LIBSCOUT_FOR_EACH(int, i, total4) {
    const int n = i / image4, r = i - n * image4;
    float4* p = y + n * stride4 + r;
    float4 v = *p;
    if (bias != nullptr) {
      const float b = bias[r / plane4];
      v.x += b;
      v.y += b;
      v.z += b;
      v.w += b;
    }
    *p = make_float4(activate(v.x, act), activate(v.y, act), activate(v.z, act),
                     activate(v.w, act));
  }
}

template <typename I>
__global__ void add_activation_kernel(const float* a, I sa, const float* b, I sb, float* y, I sy,
                                      I image, I total, int act) {
  LIBSCOUT_FOR_EACH(I, i, total) {
    const I n = i / image, r = i - n * image;
    y[n * sy + r] = activate(a[n * sa + r] + b[n * sb + r], act);
  }
}

template <typename I>
__global__ void pad_zeros_kernel(const float* x, I sx, int h, int w, float* dst, int dh, int dw,
                                 int top, int left, I image, I total) {
  LIBSCOUT_FOR_EACH(I, i, total) {
    const I n = i / image, r = i - n * image;
    const I dplane = static_cast<I>(dh) * dw;
    const I c = r / dplane, q = r - c * dplane;
    const int yy = static_cast<int>(q / dw) - top, xx = static_cast<int>(q % dw) - left;
    float v = 0.0f;
    if (yy >= 0 && yy < h && xx >= 0 && xx < w) {
      v = x[n * sx + (c * h + yy) * w + xx];
    }
    dst[i] = v;
  }
}

template <typename I>
__global__ void caffe_pool_kernel(const float* x, I sx, int in_h, int in_w, float* y, I sy,
                                  int out_h, int out_w, PoolWindow p, I image, I total) {
  LIBSCOUT_FOR_EACH(I, i, total) {
    const I n = i / image, r = i - n * image;
    const I oplane = static_cast<I>(out_h) * out_w;
    const I c = r / oplane, q = r - c * oplane;
    const int oy = static_cast<int>(q / out_w), ox = static_cast<int>(q % out_w);
    const int y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
    const int y1 = min(y0 + p.kernel_h, in_h + p.pad_h), x1 = min(x0 + p.kernel_w, in_w + p.pad_w);
    const int ys = max(y0, 0), xs = max(x0, 0), ye = min(y1, in_h), xe = min(x1, in_w);
    const float* plane = x + n * sx + c * in_h * static_cast<I>(in_w);
    float acc = p.is_max ? -INFINITY : 0.0f;
    for (int iy = ys; iy < ye; ++iy) {
      for (int ix = xs; ix < xe; ++ix) {
        const float v = plane[iy * in_w + ix];
        acc = p.is_max ? fmaxf(acc, v) : acc + v;
      }
    }
    if (!p.is_max) {
      const int count = p.count_include_pad ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
      acc = count > 0 ? acc / static_cast<float>(count) : 0.0f;
    }
    y[n * sy + r] = acc;
  }
}

// One block per band of `band` output rows of one (n, c) plane: the input rows the band's windows
// touch are staged in shared memory (coalesced), then each thread reduces windows from there.
__global__ void caffe_pool_rows_kernel(const float* x, long long sx, int channels, int in_h,
                                       int in_w, float* y, long long sy, int out_h, int out_w,
                                       PoolWindow p, int band, int bands) {
  extern __shared__ float rows[];
  const long long plane = blockIdx.x / bands;
  const int oy0 = static_cast<int>(blockIdx.x % bands) * band;
  const int oy1 = min(oy0 + band, out_h);
  const long long n = plane / channels, c = plane % channels;
  const float* xp = x + n * sx + c * static_cast<long long>(in_h) * in_w;
  float* yp = y + n * sy + c * static_cast<long long>(out_h) * out_w;
  const int r0 = max(oy0 * p.stride_h - p.pad_h, 0);
  const int r1 = min((oy1 - 1) * p.stride_h - p.pad_h + p.kernel_h, in_h);
  for (int i = threadIdx.x; i < (r1 - r0) * in_w; i += blockDim.x) rows[i] = xp[r0 * in_w + i];
  __syncthreads();
  for (int i = threadIdx.x; i < (oy1 - oy0) * out_w; i += blockDim.x) {
    const int oy = oy0 + i / out_w, ox = i % out_w;
    const int y0 = oy * p.stride_h - p.pad_h, x0 = ox * p.stride_w - p.pad_w;
    const int y1 = min(y0 + p.kernel_h, in_h + p.pad_h), x1 = min(x0 + p.kernel_w, in_w + p.pad_w);
    const int ys = max(y0, 0), xs = max(x0, 0), ye = min(y1, in_h), xe = min(x1, in_w);
    float acc = p.is_max ? -INFINITY : 0.0f;
    for (int iy = ys; iy < ye; ++iy) {
      const float* row = rows + (iy - r0) * in_w;
      for (int ix = xs; ix < xe; ++ix) acc = p.is_max ? fmaxf(acc, row[ix]) : acc + row[ix];
    }
    if (!p.is_max) {
      const int count = p.count_include_pad ? (y1 - y0) * (x1 - x0) : (ye - ys) * (xe - xs);
      acc = count > 0 ? acc / static_cast<float>(count) : 0.0f;
    }
    yp[static_cast<long long>(oy) * out_w + ox] = acc;
  }
}

__device__ __forceinline__ std::uint32_t mix(std::uint32_t h) {  // a 32-bit integer hash
  h ^= h >> 16;
  h *= 0x7feb352dU;
  h ^= h >> 15;
  h *= 0x846ca68bU;
  h ^= h >> 16;
  return h;
}

template <typename I>
__global__ void fill_uniform_kernel(float* v, I stride, I image, I total, std::uint32_t seed) {
  LIBSCOUT_FOR_EACH(I, i, total) {
    const I n = i / image, r = i - n * image;
    const std::uint32_t bits = mix(static_cast<std::uint32_t>(i) * 0x9e3779b9U ^ mix(seed));
    v[n * stride + r] = static_cast<float>(bits >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
}

template <typename I>
__global__ void accumulate_error_kernel(const float* a, I sa, const float* b, I sb, I image,
                                        I total, double* out) {
  double diff = 0, norm = 0;
  LIBSCOUT_FOR_EACH(I, i, total) {
    const I n = i / image, r = i - n * image;
    const double va = a[n * sa + r], vb = b[n * sb + r];
    diff += (va - vb) * (va - vb);
    norm += vb * vb;
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    diff += __shfl_down_sync(0xffffffffU, diff, offset);
    norm += __shfl_down_sync(0xffffffffU, norm, offset);
  }
  __shared__ double partial[2][kThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    partial[0][warp] = diff;
    partial[1][warp] = norm;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < kThreads / 32; ++k) {
      diff += partial[0][k];
      norm += partial[1][k];
    }
    atomicAdd(out, diff);
    atomicAdd(out + 1, norm);
  }
}

}  // namespace

void bias_activation(const DeviceView& y, const float* bias, Act act, cudaStream_t s) {
  if (bias == nullptr && act == Act::kNone) return;
  const std::int64_t total = y.elements(), plane = static_cast<std::int64_t>(y.h) * y.w;
  const bool aligned = reinterpret_cast<std::uintptr_t>(y.base) % 16 == 0 && plane % 4 == 0 &&
                       y.batch_stride % 4 == 0;
  if (aligned && fits_int32({y})) {
    const int total4 = static_cast<int>(total / 4);
    bias_activation4_kernel<<<blocks_for(total4), kThreads, 0, s>>>(
        reinterpret_cast<float4*>(y.base), int(y.batch_stride / 4), int(y.image_elements() / 4),
        int(plane / 4), total4, bias, int(act));
  } else if (fits_int32({y})) {
    bias_activation_kernel<int><<<blocks_for(total), kThreads, 0, s>>>(
        y.base, int(y.batch_stride), int(y.image_elements()), int(plane), int(total), bias,
        int(act));
  } else {
    bias_activation_kernel<std::int64_t><<<blocks_for(total), kThreads, 0, s>>>(
        y.base, y.batch_stride, y.image_elements(), plane, total, bias, int(act));
  }
  check_launch("bias_activation");
}

void add_activation(const DeviceView& a, const DeviceView& b, const DeviceView& y, Act act,
                    cudaStream_t s) {
  const std::int64_t total = y.elements();
  if (fits_int32({a, b, y})) {
    add_activation_kernel<int><<<blocks_for(total), kThreads, 0, s>>>(
        a.base, int(a.batch_stride), b.base, int(b.batch_stride), y.base, int(y.batch_stride),
        int(y.image_elements()), int(total), int(act));
  } else {
    add_activation_kernel<std::int64_t><<<blocks_for(total), kThreads, 0, s>>>(
        a.base, a.batch_stride, b.base, b.batch_stride, y.base, y.batch_stride,
        y.image_elements(), total, int(act));
  }
  check_launch("add_activation");
}

void pad_zeros(const DeviceView& x, const DeviceView& dst, int top, int left, cudaStream_t s) {
  const std::int64_t total = dst.elements();
  if (fits_int32({x, dst})) {
    pad_zeros_kernel<int><<<blocks_for(total), kThreads, 0, s>>>(
        x.base, int(x.batch_stride), x.h, x.w, dst.base, dst.h, dst.w, top, left,
        int(dst.image_elements()), int(total));
  } else {
    pad_zeros_kernel<std::int64_t><<<blocks_for(total), kThreads, 0, s>>>(
        x.base, x.batch_stride, x.h, x.w, dst.base, dst.h, dst.w, top, left,
        dst.image_elements(), total);
  }
  check_launch("pad_zeros");
}

void caffe_pool(const DeviceView& x, const DeviceView& y, const PoolWindow& p, cudaStream_t s) {
  const std::int64_t total = y.elements();
  if (fits_int32({x, y})) {
    caffe_pool_kernel<int><<<blocks_for(total), kThreads, 0, s>>>(
        x.base, int(x.batch_stride), x.h, x.w, y.base, int(y.batch_stride), y.h, y.w, p,
        int(y.image_elements()), int(total));
  } else {
    caffe_pool_kernel<std::int64_t><<<blocks_for(total), kThreads, 0, s>>>(
        x.base, x.batch_stride, x.h, x.w, y.base, y.batch_stride, y.h, y.w, p,
        y.image_elements(), total);
  }
  check_launch("caffe_pool");
}

bool caffe_pool_rows(const DeviceView& x, const DeviceView& y, const PoolWindow& p,
                     cudaStream_t s) {
  constexpr int kSharedBytes = 24 * 1024;
  const int row_floats = kSharedBytes / static_cast<int>(sizeof(float)) / x.w;
  // Input rows of a band of b output rows: (b - 1) * stride + kernel.
  const int band = std::min(y.h, (row_floats - p.kernel_h) / p.stride_h + 1);
  if (band < 1) return false;
  const int bands = (y.h + band - 1) / band;
  const long long blocks = static_cast<long long>(y.n) * y.c * bands;
  if (blocks > 2147483647LL) return false;
  const int in_rows = std::min((band - 1) * p.stride_h + p.kernel_h, x.h);
  caffe_pool_rows_kernel<<<static_cast<unsigned>(blocks), kThreads,
                           static_cast<std::size_t>(in_rows) * x.w * sizeof(float), s>>>(
      x.base, x.batch_stride, x.c, x.h, x.w, y.base, y.batch_stride, y.h, y.w, p, band, bands);
  check_launch("caffe_pool_rows");
  return true;
}

void fill_uniform(const DeviceView& v, std::uint32_t seed, cudaStream_t s) {
  const std::int64_t total = v.elements();
  if (fits_int32({v})) {
    fill_uniform_kernel<int><<<blocks_for(total), kThreads, 0, s>>>(
        v.base, int(v.batch_stride), int(v.image_elements()), int(total), seed);
  } else {
    fill_uniform_kernel<std::int64_t><<<blocks_for(total), kThreads, 0, s>>>(
        v.base, v.batch_stride, v.image_elements(), total, seed);
  }
  check_launch("fill_uniform");
}

void accumulate_error(const DeviceView& a, const DeviceView& b, double* out, cudaStream_t s) {
  const std::int64_t total = b.elements();
  if (fits_int32({a, b})) {
    accumulate_error_kernel<int><<<blocks_for(total), kThreads, 0, s>>>(
        a.base, int(a.batch_stride), b.base, int(b.batch_stride), int(b.image_elements()),
        int(total), out);
  } else {
    accumulate_error_kernel<std::int64_t><<<blocks_for(total), kThreads, 0, s>>>(
        a.base, a.batch_stride, b.base, b.batch_stride, b.image_elements(), total, out);
  }
  check_launch("accumulate_error");
}

}  // namespace libscout::cudnn
