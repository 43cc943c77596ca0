// One layer of `gemm:cublas` as device work: built once in prepare() on fixed device buffers (its
// constants uploaded then), enqueued on a stream at every run or captured into a CUDA graph.
//
// Caffe's GPU mode: a convolution is im2col (a kernel) then cuBLAS SGEMM per image; a 1x1
// stride-1 unpadded convolution multiplies the image itself. A grouped convolution runs one SGEMM
// per image and group, issued as one strided-batched cuBLAS call per image (a depthwise layer
// would otherwise cost a launch per channel). Bias and activation follow in one kernel; fully
// connected layers are one SGEMM for the whole batch.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <cuda_runtime_api.h>

#include "backends/gemm_cublas/cublas_context.h"
#include "core/graph.h"
#include "cuda/cuda_runtime_util.h"

namespace libscout::gemm_cublas {

using Enqueue = std::function<void(cudaStream_t)>;

// What layer ops share: the cuBLAS handle, the im2col buffer (used by one convolution at a time:
// work on one stream runs in order) and the device copies of the layers' constants.
struct OpResources {
  CublasContext* blas = nullptr;
  float* col = nullptr;
  std::vector<cuda::DeviceBuffer<float>> constants;

  // Copies `values` to a new device buffer kept here; returns its device address.
  const float* upload(const float* values, std::size_t count, const char* what);
};

// Floats of the im2col buffer that `layer` needs (0 for anything but a lowered convolution).
std::size_t col_floats(const Graph& g, const Layer& layer);

// Empty when the layer can run; otherwise why not (sizes past cuBLAS's 32-bit dimensions).
std::string unsupported_reason(const Graph& g, const Layer& layer);

// The layer's work, reading `inputs` and writing `output` (device NCHW buffers of the graph's
// shapes).
Enqueue make_layer_op(const Graph& g, const Layer& layer, std::vector<const float*> inputs,
                      float* output, OpResources& res);

// Allocates device memory for `count` T, first checking that the GPU has that much free; throws
// Error("out of GPU memory: ...") naming `what` and the sizes otherwise.
template <class T>
cuda::DeviceBuffer<T> allocate_device(std::size_t count, const std::string& what);
void ensure_free_gpu_memory(std::size_t bytes, const std::string& what);

template <class T>
cuda::DeviceBuffer<T> allocate_device(std::size_t count, const std::string& what) {
  ensure_free_gpu_memory(count * sizeof(T), what);
  return cuda::DeviceBuffer<T>(count);
}

}  // namespace libscout::gemm_cublas
