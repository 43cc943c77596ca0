#include "backends/gemm_cublas/cublas_context.h"

#include <library_types.h>

namespace libscout::gemm_cublas {

namespace {
// cuBLAS's recommendation for Hopper (smaller GPUs need less; the buffer is allocated once).
constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;
constexpr float kOne = 1.0f, kZero = 0.0f;
}  // namespace

void check_cublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string msg = std::string("gemm:cublas: ") + what + ": " + cublasGetStatusName(status) +
                    " (" + cublasGetStatusString(status) + ")";
  if (status == CUBLAS_STATUS_ALLOC_FAILED) msg = "out of GPU memory: " + msg;
  throw Error(msg);
}

std::string cublas_version() {
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

CublasContext::CublasContext() {
  check_cublas(cublasCreate(&handle_), "cublasCreate");
  try {
    workspace_.resize(kWorkspaceBytes);
  } catch (...) {
    cublasDestroy(handle_);
    throw;
  }
}

CublasContext::~CublasContext() {
  if (handle_ != nullptr) cublasDestroy(handle_);
}

void CublasContext::bind(cudaStream_t stream, bool tf32) {
  check_cublas(cublasSetStream(handle_, stream), "cublasSetStream");
  // cublasSetStream resets the workspace to cuBLAS's own pool: give it ours again.
  check_cublas(cublasSetWorkspace(handle_, workspace_.get(), workspace_.bytes()),
               "cublasSetWorkspace");
  check_cublas(cublasSetMathMode(handle_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH),
               "cublasSetMathMode");
}

void CublasContext::unbind() noexcept { cublasSetStream(handle_, nullptr); }

// cuBLAS is column-major: a row-major matrix is its transpose, so row-major C = A * B is computed
// as column-major C^T = B^T * A^T, with the operands swapped.
void CublasContext::sgemm(int m, int n, int k, const float* a, int lda, const float* b, int ldb,
                          float* c, int ldc) {
  check_cublas(cublasSgemm(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &kOne, b, ldb, a, lda,
                           &kZero, c, ldc),
               "cublasSgemm");
}

void CublasContext::sgemm_bt(int m, int n, int k, const float* a, int lda, const float* b,
                             int ldb, float* c, int ldc) {
  check_cublas(cublasSgemm(handle_, CUBLAS_OP_T, CUBLAS_OP_N, n, m, k, &kOne, b, ldb, a, lda,
                           &kZero, c, ldc),
               "cublasSgemm");
}

void CublasContext::sgemm_strided(int m, int n, int k, const float* a, int lda, long long stride_a,
                                  const float* b, int ldb, long long stride_b, float* c, int ldc,
                                  long long stride_c, int count) {
  check_cublas(cublasSgemmStridedBatched(handle_, CUBLAS_OP_N, CUBLAS_OP_N, n, m, k, &kOne, b, ldb,
                                         stride_b, a, lda, stride_a, &kZero, c, ldc, stride_c,
                                         count),
               "cublasSgemmStridedBatched");
}

}  // namespace libscout::gemm_cublas
