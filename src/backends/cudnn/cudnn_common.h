// What every part of the cudnn backend shares: status checks that turn cuDNN and cuBLAS errors
// into libscout::Error, owning cuDNN descriptors, the library handles, and what one enqueued
// piece of work needs (handles bound to a stream, the shared workspace).
#pragma once

#include <cublas_v2.h>
#include <cudnn.h>

#include <cstddef>
#include <memory>
#include <string>

#include "backends/cudnn/kernels.h"
#include "core/error.h"
#include "cuda/cuda_runtime_util.h"

namespace libscout::cudnn {

// Throws Error("<what>: <cuDNN's message and its last error string>") unless status is success.
void check(cudnnStatus_t status, const char* what);
void check(cublasStatus_t status, const char* what);
using cuda::check;

std::string cudnn_version();  // "9.19.0" of the library loaded, not the headers
std::string cublas_version(cublasHandle_t h);

// RAII wrapper of one cuDNN descriptor type.
template <class T, cudnnStatus_t (*Create)(T*), cudnnStatus_t (*Destroy)(T)>
class Descriptor {
 public:
  Descriptor() { check(Create(&d_), "creating a cuDNN descriptor"); }
  ~Descriptor() { Destroy(d_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  T get() const { return d_; }
  operator T() const { return d_; }

 private:
  T d_ = nullptr;
};

using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnCreateTensorDescriptor,
                              cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnCreateFilterDescriptor,
                              cudnnDestroyFilterDescriptor>;
using ConvDesc = Descriptor<cudnnConvolutionDescriptor_t, cudnnCreateConvolutionDescriptor,
                            cudnnDestroyConvolutionDescriptor>;
using PoolDesc = Descriptor<cudnnPoolingDescriptor_t, cudnnCreatePoolingDescriptor,
                            cudnnDestroyPoolingDescriptor>;
using ActDesc = Descriptor<cudnnActivationDescriptor_t, cudnnCreateActivationDescriptor,
                           cudnnDestroyActivationDescriptor>;

// A 4-D NCHW descriptor of a view (strides: batch_stride, H*W, W, 1).
std::shared_ptr<TensorDesc> tensor_desc(const DeviceView& v);
// (1, C, 1, 1): bias and batch-norm parameters.
std::shared_ptr<TensorDesc> channel_desc(int channels);
std::shared_ptr<ActDesc> activation_desc(Act act);

// The library handles of one backend: a cuDNN and a cuBLAS handle, the math modes they were set
// to, and a cuBLAS workspace (so that cuBLAS allocates nothing while a CUDA graph is captured).
class Library {
 public:
  explicit Library(bool allow_tf32);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  cudnnHandle_t dnn() const { return dnn_; }
  cublasHandle_t blas() const { return blas_; }
  bool allow_tf32() const { return allow_tf32_; }
  cudnnMathType_t conv_math() const { return allow_tf32_ ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }
  // Binds both handles to `s` (and gives cuBLAS its workspace back, which cublasSetStream drops).
  void bind(cudaStream_t s);

 private:
  bool allow_tf32_;
  cudnnHandle_t dnn_ = nullptr;
  cublasHandle_t blas_ = nullptr;
  cuda::DeviceBuffer<char> blas_workspace_;
};

// The scratch memory shared by the layers of a segment, which run one after another.
struct Workspace {
  cuda::DeviceBuffer<char> buffer;
  void* data() const { return buffer.get(); }
  std::size_t bytes() const { return buffer.bytes(); }
};

// What a layer's work is enqueued with. A segment that splits its batch into micro-batches runs
// every layer once per micro-batch: `image` is the micro-batch's first image, and every view a
// layer holds (sized for one micro-batch) is moved there by at().
struct Exec {
  Library* lib = nullptr;
  cudaStream_t stream = nullptr;
  Workspace* workspace = nullptr;
  std::int64_t image = 0;
};

inline DeviceView at(const DeviceView& v, const Exec& e) {
  DeviceView moved = v;
  moved.base += e.image * v.batch_stride;
  return moved;
}

// Whether convolutions also try the graph API's engines (cudnn_graph_api.h): on unless the
// environment sets LIBSCOUT_CUDNN_GRAPH_API=0 (a diagnostic switch; settings() records it).
bool graph_api_enabled();

// LIBSCOUT_CUDNN_VERBOSE=1: prepare() reports each layer's candidates on stderr as it goes.
bool verbose();

// "3.2 MiB" for messages.
std::string mib(std::size_t bytes);

}  // namespace libscout::cudnn
