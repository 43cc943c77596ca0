// Plugin "cublas": the GEMM provider `cublas`, cuBLAS SGEMM on the first CUDA device (the one
// CUDA_VISIBLE_DEVICES puts first).
//
// Math: FP32. The handle's math mode is set to CUBLAS_DEFAULT_MATH and read back: in that mode
// cuBLAS computes an FP32 product with at least FP32's mantissa, so never with TF32 tensor cores
// (that takes CUBLAS_TF32_TENSOR_OP_MATH or a TF32 compute type, which libscout never asks for).
// NVIDIA_TF32_OVERRIDE can only switch TF32 off, never on; CUBLAS_EMULATE_SINGLE_PRECISION can
// switch FP32 to BF16x9 emulation on GPUs that support it; version() records either when set.
//
// Device and memory, as the clblast provider does it:
//   - Device buffers for A, B and C are allocated on first use and kept (grown when a call needs
//     more), so allocation is not timed. Every sgemm() call copies A, B (and C when beta != 0) to
//     the device and C back, so the provider keeps the host-memory contract of gemm_provider.h and
//     a caller can change its operands between calls. On the device the operands are packed (each
//     leading dimension is the row length); C's rows are copied back into the host's rows, so
//     columns past N of a padded C are never written. With beta == 0 the device C is neither
//     copied nor cleared: cuBLAS does not read C then (it may hold NaN on the host).
//   - Row-major to cuBLAS's column-major: a row-major X read as column-major is X^T, so
//     C^T = op(B)^T op(A)^T is one column-major SGEMM with the operands swapped.
//   - The sgemm() time therefore includes the transfers; last_compute_seconds() is the time between
//     two CUDA events recorded on the provider's stream around the cuBLAS call (libscout gemm
//     quotes both).
#include <cublas_v2.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>

#include "core/error.h"
#include "core/plugins.h"
#include "cuda/cuda_runtime_util.h"
#include "measure/gemm_sweep.h"

namespace libscout::gemm {
namespace {

void check_cublas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string msg = std::string("cublas: ") + what + " failed: " + cublasGetStatusName(status) +
                    " (" + cublasGetStatusString(status) + ")";
  if (status == CUBLAS_STATUS_ALLOC_FAILED) msg += " (out of GPU memory)";
  throw Error(msg);
}

int cublas_property(libraryPropertyType type) {
  int value = 0;
  check_cublas(cublasGetProperty(type, &value), "cublasGetProperty");
  return value;
}

// Owns a cuBLAS handle.
class Handle {
 public:
  Handle() { check_cublas(cublasCreate(&handle_), "cublasCreate"); }
  ~Handle() {
    if (handle_ != nullptr) cublasDestroy(handle_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  cublasHandle_t get() const { return handle_; }

 private:
  cublasHandle_t handle_ = nullptr;
};

// Grows `buffer` to hold at least `count` floats (never shrinks: the largest shape stays). A failed
// allocation is thrown as an Error ("out of GPU memory") after clearing CUDA's last error, so that
// cuBLAS's own error checks in later calls do not see it.
void reserve(cuda::DeviceBuffer<float>& buffer, std::size_t count) {
  if (buffer.size() >= count) return;
  try {
    buffer.resize(count);
  } catch (const Error&) {
    cudaGetLastError();
    throw;
  }
}

// Copies a rows x cols block with leading dimension `ld` between host and a packed device block.
void upload(float* device, const float* host, std::size_t rows, std::size_t cols, int ld,
            cudaStream_t stream) {
  if (rows == 0 || cols == 0) return;
  cuda::check(cudaMemcpy2DAsync(device, cols * sizeof(float), host, std::size_t(ld) * sizeof(float),
                                cols * sizeof(float), rows, cudaMemcpyHostToDevice, stream),
              "cublas: copying an operand to the GPU");
}

cublasOperation_t op(Trans t) { return t == Trans::kYes ? CUBLAS_OP_T : CUBLAS_OP_N; }

class CublasProvider final : public Provider, public DeviceComputeTimer {
 public:
  CublasProvider() {
    if (const std::string why = cuda::unavailable_reason(); !why.empty()) throw Unavailable(why);
    cuda::check(cudaSetDevice(0), "cudaSetDevice");
    stream_ = std::make_unique<cuda::Stream>();
    handle_ = std::make_unique<Handle>();
    start_ = std::make_unique<cuda::Event>();
    stop_ = std::make_unique<cuda::Event>();
    check_cublas(cublasSetStream(handle_->get(), stream_->get()), "cublasSetStream");
    check_cublas(cublasSetMathMode(handle_->get(), CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    cublasMath_t mode{};
    check_cublas(cublasGetMathMode(handle_->get(), &mode), "cublasGetMathMode");
    if (mode != CUBLAS_DEFAULT_MATH) {
      throw Error("cublas: the math mode reads back as " + std::to_string(int(mode)) +
                  " instead of CUBLAS_DEFAULT_MATH (FP32)");
    }
    version_ = describe();
  }

  std::string name() const override { return "cublas"; }
  std::string version() const override { return version_; }
  // cuBLAS is driven by one host thread; the GPU's parallelism is not a thread count.
  int set_threads(int) override { return 1; }
  bool has_device_memory() const override { return true; }
  bool operands_on_gpu() const override { return true; }
  double last_compute_seconds() const override { return compute_seconds_; }

  void sgemm(const SgemmArgs& g) override {
    if (g.m < 0 || g.n < 0 || g.k < 0) throw Error("cublas: negative GEMM size");
    compute_seconds_ = 0;
    if (g.m == 0 || g.n == 0) return;
    const bool ta = g.trans_a == Trans::kYes, tb = g.trans_b == Trans::kYes;
    const std::size_t a_rows = ta ? g.k : g.m, a_cols = ta ? g.m : g.k;
    const std::size_t b_rows = tb ? g.n : g.k, b_cols = tb ? g.k : g.n;
    const std::size_t m = g.m, n = g.n;
    reserve(a_, std::max<std::size_t>(a_rows * a_cols, 1));
    reserve(b_, std::max<std::size_t>(b_rows * b_cols, 1));
    reserve(c_, m * n);

    cudaStream_t s = stream_->get();
    upload(a_.get(), g.a, a_rows, a_cols, g.lda, s);
    upload(b_.get(), g.b, b_rows, b_cols, g.ldb, s);
    if (g.beta != 0.0f) upload(c_.get(), g.c, m, n, g.ldc, s);

    // Column-major: C^T (n x m) = op(B)^T (n x k) * op(A)^T (k x m), packed leading dimensions.
    const int ld_a = static_cast<int>(std::max<std::size_t>(a_cols, 1));
    const int ld_b = static_cast<int>(std::max<std::size_t>(b_cols, 1));
    start_->record(s);
    check_cublas(cublasSgemm(handle_->get(), op(g.trans_b), op(g.trans_a), g.n, g.m, g.k, &g.alpha,
                             b_.get(), ld_b, a_.get(), ld_a, &g.beta, c_.get(), g.n),
                 "cublasSgemm");
    stop_->record(s);
    cuda::check(cudaMemcpy2DAsync(g.c, std::size_t(g.ldc) * sizeof(float), c_.get(),
                                  n * sizeof(float), n * sizeof(float), m, cudaMemcpyDeviceToHost,
                                  s),
                "cublas: copying C back from the GPU");
    stream_->synchronize();
    compute_seconds_ = cuda::elapsed_ms(*start_, *stop_) * 1e-3;
  }

 private:
  std::string describe() const {
    const cuda::GpuDescription gpu = cuda::describe_gpu(0);
    std::string s = "cuBLAS " + std::to_string(cublas_property(MAJOR_VERSION)) + "." +
                    std::to_string(cublas_property(MINOR_VERSION)) + "." +
                    std::to_string(cublas_property(PATCH_LEVEL)) +
                    ", FP32 math (CUBLAS_DEFAULT_MATH, no TF32)";
    // Environment that changes how cuBLAS computes FP32 (TF32 off, BF16x9 emulation of FP32 on
    // GPUs that have it): recorded, since validation may not tell the difference.
    for (const char* name : {"NVIDIA_TF32_OVERRIDE", "CUBLAS_EMULATE_SINGLE_PRECISION",
                             "CUBLAS_EMULATION_STRATEGY"}) {
      if (const char* v = std::getenv(name); v != nullptr) s += ", " + std::string(name) + "=" + v;
    }
    s += ", on " + gpu.name + " (sm_" + std::to_string(gpu.compute_major) +
         std::to_string(gpu.compute_minor) + ", " + std::to_string(gpu.multiprocessors) +
         " SMs, " + std::to_string(gpu.memory_bytes >> 20) + " MiB), driver " +
         cuda::version_string(gpu.driver_version) + ", runtime " +
         cuda::version_string(gpu.runtime_version);
    return s;
  }

  // Destroyed in reverse: the buffers and events, then the handle, then the stream it used.
  std::unique_ptr<cuda::Stream> stream_;
  std::unique_ptr<Handle> handle_;
  std::unique_ptr<cuda::Event> start_, stop_;
  cuda::DeviceBuffer<float> a_, b_, c_;
  double compute_seconds_ = 0;
  std::string version_;
};

}  // namespace
}  // namespace libscout::gemm

LIBSCOUT_PLUGIN_ENTRY libscout_register_plugin(libscout::PluginRegistry& registry) {
  registry.add_provider({"cublas",
                         "cuBLAS SGEMM, FP32 (no TF32), on the first CUDA device; operands copied "
                         "to and from the GPU on every call",
                         [] { return libscout::cuda::unavailable_reason(); },
                         [] { return std::make_unique<libscout::gemm::CublasProvider>(); }});
}
LIBSCOUT_PLUGIN_PROVIDES("provider", "cublas");
