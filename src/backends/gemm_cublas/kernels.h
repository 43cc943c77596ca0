// The device kernels of `gemm:cublas` (Caffe's GPU mode): everything a CNN needs besides the
// matrix products, which cuBLAS does. Each function enqueues one kernel on `stream` and returns
// the launch status (cudaGetLastError); none synchronizes, so all of them can be captured into a
// CUDA graph. Tensors are NCHW float arrays in device memory. Included by host code compiled by the
// C++ compiler: plain declarations only.
#pragma once

#include <cstddef>

#include <cuda_runtime_api.h>

namespace libscout::gemm_cublas {

// Matches libscout::Activation (none, ReLU, ReLU6).
enum class Act : int { kNone = 0, kRelu = 1, kRelu6 = 2 };

struct ConvGeometry {
  int channels = 0, height = 0, width = 0;  // one image's input
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0;
  int dilation_h = 1, dilation_w = 1;
  int out_h = 0, out_w = 0;
};

// Caffe's im2col for one image: col is (channels * kernel_h * kernel_w) x (out_h * out_w),
// row-major; taps that fall into the padding are zero. Bottom/right padding only shows in out_h
// and out_w.
cudaError_t im2col(const float* image, const ConvGeometry& g, float* col, cudaStream_t stream);

// y[n, c, i] = act(y[n, c, i] + bias[c]) over `count` elements of `channels` channels and `plane`
// pixels each; bias may be null.
cudaError_t bias_activation(float* y, const float* bias, std::size_t count, int channels,
                            std::size_t plane, Act act, cudaStream_t stream);

// y = act(a + b) elementwise; b may be null (then y = act(a)). y may be a or b.
cudaError_t add_activation(const float* a, const float* b, float* y, std::size_t count, Act act,
                           cudaStream_t stream);

// y[n, c, i] = x[n, c, i] * scale[c] + shift[c] (an inference batch norm).
cudaError_t scale_shift(const float* x, const float* scale, const float* shift, float* y,
                        std::size_t count, int channels, std::size_t plane, cudaStream_t stream);

struct PoolGeometry {
  int planes = 0;  // batch * channels
  int height = 0, width = 0, out_h = 0, out_w = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool max = true;
  bool count_include_pad = true;  // average pooling's divisor: the window clipped to the padded input
};

// Max or average pooling with the engine's (Caffe's) window rules.
cudaError_t pool2d(const float* x, float* y, const PoolGeometry& g, cudaStream_t stream);

// y[p] = mean of the `plane` values of x's plane p, for `planes` planes.
cudaError_t global_avg_pool(const float* x, float* y, int planes, std::size_t plane,
                            cudaStream_t stream);

// Softmax over the channels at every (image, pixel).
cudaError_t softmax_channels(const float* x, float* y, int batch, int channels, std::size_t plane,
                             cudaStream_t stream);

}  // namespace libscout::gemm_cublas
