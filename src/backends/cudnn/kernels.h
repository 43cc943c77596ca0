// The few device kernels the cudnn backend needs besides cuDNN and cuBLAS: the epilogue of a
// convolution that cuDNN cannot fuse (bias + ReLU6 after a cuBLAS GEMM, say), an add with its
// activation, Caffe's ceil-mode pooling where cuDNN's output size differs, the explicit padding
// of an asymmetrically padded convolution, and two prepare-time helpers (seeded fill, error norm).
//
// Every kernel addresses a value through a DeviceView: NCHW, image n at base + n * batch_stride,
// its C*H*W floats contiguous. A value that is a channel slice of a concat output has the concat's
// image size as batch stride and starts at its first channel: producers write into the slice.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace libscout::cudnn {

struct DeviceView {
  float* base = nullptr;
  std::int64_t batch_stride = 0;  // floats between images
  int n = 0, c = 0, h = 0, w = 0;

  std::int64_t image_elements() const { return static_cast<std::int64_t>(c) * h * w; }
  std::int64_t elements() const { return image_elements() * n; }
  bool contiguous() const { return batch_stride == image_elements(); }
};

enum class Act : int { kNone = 0, kRelu = 1, kRelu6 = 2 };

// y = act(y + bias[c]); bias may be null.
void bias_activation(const DeviceView& y, const float* bias, Act act, cudaStream_t s);
// y = act(a + b); y may be a or b.
void add_activation(const DeviceView& a, const DeviceView& b, const DeviceView& y, Act act,
                    cudaStream_t s);
// dst (contiguous N x C x (H+top+bottom) x (W+left+right)) = x surrounded by zeros.
void pad_zeros(const DeviceView& x, const DeviceView& dst, int top, int left, cudaStream_t s);

struct PoolWindow {
  int kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w;
  bool is_max, count_include_pad;
};
// Caffe's pooling, exactly as the reference computes it: the window clipped to the padded input,
// then to the input; the average divides by the first (count_include_pad) or the second.
void caffe_pool(const DeviceView& x, const DeviceView& y, const PoolWindow& p, cudaStream_t s);
// The same result, each block staging a band of input rows in shared memory so that every input
// element is read from memory about once. False (nothing launched) where a single row band does
// not fit.
bool caffe_pool_rows(const DeviceView& x, const DeviceView& y, const PoolWindow& p,
                     cudaStream_t s);

// Seeded values in [-1, 1): inputs for measuring and cross-checking algorithms in prepare().
void fill_uniform(const DeviceView& v, std::uint32_t seed, cudaStream_t s);
// out[0] += sum (a - b)^2, out[1] += sum b^2 (out: two device doubles).
void accumulate_error(const DeviceView& a, const DeviceView& b, double* out, cudaStream_t s);

}  // namespace libscout::cudnn
