// One cuBLAS handle of `gemm:cublas`, with the workspace it owns, and the row-major products the
// backend needs. The handle is bound to a stream (and to its workspace, so that no cuBLAS call
// allocates memory during a CUDA-graph capture) before any work is enqueued.
#pragma once

#include <cublas_v2.h>

#include <string>

#include "cuda/cuda_runtime_util.h"

namespace libscout::gemm_cublas {

// Throws Error("gemm:cublas: <what>: <cuBLAS's message>") unless `status` is success.
void check_cublas(cublasStatus_t status, const char* what);

// "13.1.0" (cuBLAS's own version, from the library that is loaded).
std::string cublas_version();

class CublasContext {
 public:
  CublasContext();
  ~CublasContext();
  CublasContext(const CublasContext&) = delete;
  CublasContext& operator=(const CublasContext&) = delete;

  // Later calls run on `stream`, with TF32 tensor-core math or IEEE FP32 (pedantic: no
  // reduced-precision shortcut).
  void bind(cudaStream_t stream, bool tf32);
  // Back to the default stream (before the bound stream is destroyed).
  void unbind() noexcept;

  // Row-major C(m x n) = A(m x k) * B(k x n), contiguous rows with leading dimensions lda, ldb, ldc.
  void sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
             int ldc);
  // Row-major C(m x n) = A(m x k) * B(n x k)^T.
  void sgemm_bt(int m, int n, int k, const float* a, int lda, const float* b, int ldb, float* c,
                int ldc);
  // `count` products as sgemm(), operand i at a + i*stride_a, b + i*stride_b, c + i*stride_c.
  void sgemm_strided(int m, int n, int k, const float* a, int lda, long long stride_a,
                     const float* b, int ldb, long long stride_b, float* c, int ldc,
                     long long stride_c, int count);

 private:
  cublasHandle_t handle_ = nullptr;
  cuda::DeviceBuffer<unsigned char> workspace_;
};

}  // namespace libscout::gemm_cublas
