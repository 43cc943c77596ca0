#include "backends/cudnn/cudnn_common.h"

#include <cstdio>
#include <cstdlib>

namespace libscout::cudnn {

void check(cudnnStatus_t status, const char* what) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  std::string msg = std::string(what) + ": " + cudnnGetErrorString(status);
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof detail);
  if (detail[0] != '\0') msg += std::string(" (") + detail + ")";
  if (status == CUDNN_STATUS_ALLOC_FAILED) msg += " (out of GPU memory)";
  throw Error(msg);
}

void check(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string msg = std::string(what) + ": " + cublasGetStatusName(status) + " (" +
                    cublasGetStatusString(status) + ")";
  if (status == CUBLAS_STATUS_ALLOC_FAILED) msg += " (out of GPU memory)";
  throw Error(msg);
}

std::string cudnn_version() {
  const std::size_t v = cudnnGetVersion();  // major * 10000 + minor * 100 + patch since 9.0
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

std::string cublas_version(cublasHandle_t h) {
  int v = 0;
  check(cublasGetVersion(h, &v), "cublasGetVersion");
  return std::to_string(v / 10000) + "." + std::to_string(v / 100 % 100) + "." +
         std::to_string(v % 100);
}

std::shared_ptr<TensorDesc> tensor_desc(const DeviceView& v) {
  auto d = std::make_shared<TensorDesc>();
  check(cudnnSetTensor4dDescriptorEx(*d, CUDNN_DATA_FLOAT, v.n, v.c, v.h, v.w,
                                     static_cast<int>(v.batch_stride), v.h * v.w, v.w, 1),
        "cudnnSetTensor4dDescriptorEx");
  return d;
}

std::shared_ptr<TensorDesc> channel_desc(int channels) {
  auto d = std::make_shared<TensorDesc>();
  check(cudnnSetTensor4dDescriptor(*d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, channels, 1, 1),
        "cudnnSetTensor4dDescriptor");
  return d;
}

std::shared_ptr<ActDesc> activation_desc(Act act) {
  auto d = std::make_shared<ActDesc>();
  const cudnnActivationMode_t mode = act == Act::kRelu    ? CUDNN_ACTIVATION_RELU
                                     : act == Act::kRelu6 ? CUDNN_ACTIVATION_CLIPPED_RELU
                                                          : CUDNN_ACTIVATION_IDENTITY;
  check(cudnnSetActivationDescriptor(*d, mode, CUDNN_NOT_PROPAGATE_NAN,
                                     act == Act::kRelu6 ? 6.0 : 0.0),
        "cudnnSetActivationDescriptor");
  return d;
}

Library::Library(bool allow_tf32) : allow_tf32_(allow_tf32) {
  check(cudnnCreate(&dnn_), "cudnnCreate");
  try {
    check(cublasCreate(&blas_), "cublasCreate");
    check(cublasSetMathMode(blas_, allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
          "cublasSetMathMode");
    blas_workspace_.resize(32u << 20);
  } catch (...) {
    if (blas_ != nullptr) cublasDestroy(blas_);
    cudnnDestroy(dnn_);
    throw;
  }
}

Library::~Library() {
  cublasDestroy(blas_);
  cudnnDestroy(dnn_);
}

void Library::bind(cudaStream_t s) {
  check(cudnnSetStream(dnn_, s), "cudnnSetStream");
  check(cublasSetStream(blas_, s), "cublasSetStream");
  check(cublasSetWorkspace(blas_, blas_workspace_.get(), blas_workspace_.bytes()),
        "cublasSetWorkspace");
}

bool graph_api_enabled() {
  const char* v = std::getenv("LIBSCOUT_CUDNN_GRAPH_API");
  return v == nullptr || std::string(v) != "0";
}

bool verbose() {
  const char* v = std::getenv("LIBSCOUT_CUDNN_VERBOSE");
  return v != nullptr && std::string(v) != "0";
}

std::string mib(std::size_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

}  // namespace libscout::cudnn
