// cuBLAS SGEMM ceiling against the libscout harness, square sizes (default 4096 and 8192):
//
//   bench_cublas_sgemm [SIZE...]
//
// 1. Plain loop: operands resident on the GPU, FP32 (CUBLAS_DEFAULT_MATH, as the provider sets it),
//    5 untimed calls, then 5 runs of back-to-back cublasSgemm calls, each run timed with two CUDA
//    events around it; the rate is 2 n^3 / (run time / calls), median and best of the runs.
// 2. Harness: measure_gemm on the registry's `cublas` provider (what `libscout gemm --providers
//    cublas` runs: validation, warm-up, timed calls, median), compute-only and with transfers.
// The ratio harness compute-only / plain-loop median is the harness fidelity (target >= 0.90).
#include <cublas_v2.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "cuda/cuda_runtime_util.h"
#include "gemm/gemm_provider.h"
#include "measure/gemm_sweep.h"

namespace {

namespace cuda = libscout::cuda;

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) {
    throw libscout::Error(std::string(what) + " failed: " + cublasGetStatusString(s));
  }
}

struct LoopRate {
  double median_gflops = 0, best_gflops = 0;
  int calls_per_run = 0, runs = 0;
};

// Times cublasSgemm on resident n x n operands: runs of back-to-back calls between two events.
LoopRate plain_loop(cublasHandle_t handle, cudaStream_t stream, int n) {
  const std::size_t count = std::size_t(n) * n;
  std::vector<float> host(count);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (float& x : host) x = dist(rng);
  cuda::DeviceBuffer<float> a(count), b(count), c(count);
  const std::size_t bytes = count * sizeof(float);
  cuda::check(cudaMemcpy(a.get(), host.data(), bytes, cudaMemcpyHostToDevice), "copy A");
  cuda::check(cudaMemcpy(b.get(), host.data(), bytes, cudaMemcpyHostToDevice), "copy B");
  const float alpha = 1.0f, beta = 0.0f;
  auto call = [&] {
    check_cublas(cublasSgemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &alpha, a.get(), n, b.get(),
                             n, &beta, c.get(), n),
                 "cublasSgemm");
  };
  for (int i = 0; i < 5; ++i) call();
  cuda::check(cudaStreamSynchronize(stream), "warm-up");

  LoopRate r;
  r.runs = 5;
  // About 0.2 s per run at 50 TFLOP/s, and at least 10 calls.
  r.calls_per_run = std::max(10, int(0.2 * 50e12 / (2.0 * n * n * double(n))));
  std::vector<double> gflops;
  cuda::Event start, stop;
  for (int run = 0; run < r.runs; ++run) {
    start.record(stream);
    for (int i = 0; i < r.calls_per_run; ++i) call();
    stop.record(stream);
    cuda::check(cudaEventSynchronize(stop.get()), "cudaEventSynchronize");
    const double ms_per_call = cuda::elapsed_ms(start, stop) / r.calls_per_run;
    gflops.push_back(2.0 * n * n * double(n) / (ms_per_call * 1e6));
  }
  std::sort(gflops.begin(), gflops.end());
  r.median_gflops = gflops[gflops.size() / 2];
  r.best_gflops = gflops.back();
  return r;
}

void compare(int n) {
  cuda::Stream stream;
  cublasHandle_t handle = nullptr;
  check_cublas(cublasCreate(&handle), "cublasCreate");
  LoopRate loop;
  try {
    check_cublas(cublasSetStream(handle, stream.get()), "cublasSetStream");
    check_cublas(cublasSetMathMode(handle, CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    loop = plain_loop(handle, stream.get(), n);
  } catch (...) {
    cublasDestroy(handle);
    throw;
  }
  cublasDestroy(handle);
  std::printf("%5d  plain loop: %9.1f GFLOPS median, %9.1f best (%d runs of %d calls)\n", n,
              loop.median_gflops, loop.best_gflops, loop.runs, loop.calls_per_run);

  auto provider = libscout::gemm::create_provider("cublas");
  libscout::GemmSweepOptions opts;  // the defaults of `libscout gemm`
  libscout::GemmShape shape;
  shape.m = shape.n = shape.k = n;
  const libscout::GemmResult r = libscout::measure_gemm(*provider, shape, opts);
  if (!r.ok()) {
    std::printf("%5d  harness: %s: %s\n", n, r.status.c_str(), r.reason.c_str());
    return;
  }
  std::printf("%5d  harness (measure_gemm, %d calls): %9.1f GFLOPS compute-only, %9.1f with "
              "transfers; compute-only / plain-loop median = %.3f\n",
              n, r.iterations, r.gflops, r.gflops_with_transfer.value_or(0),
              r.gflops / loop.median_gflops);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> sizes;
  for (int i = 1; i < argc; ++i) {
    char* end = nullptr;
    const long n = std::strtol(argv[i], &end, 10);
    if (*end != '\0' || n < 1 || n > 32768) {
      std::fprintf(stderr, "bench_cublas_sgemm: '%s' is not a size from 1 to 32768\n", argv[i]);
      return 2;
    }
    sizes.push_back(int(n));
  }
  if (sizes.empty()) sizes = {4096, 8192};
  try {
    if (const std::string why = cuda::unavailable_reason(); !why.empty()) {
      std::fprintf(stderr, "bench_cublas_sgemm: %s\n", why.c_str());
      return 1;
    }
    const cuda::GpuDescription gpu = cuda::describe_gpu(0);
    std::printf("%s, driver %s, runtime %s; FP32 (CUBLAS_DEFAULT_MATH)\n", gpu.name.c_str(),
                cuda::version_string(gpu.driver_version).c_str(),
                cuda::version_string(gpu.runtime_version).c_str());
    for (int n : sizes) compare(n);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cublas_sgemm: %s\n", e.what());
    return 1;
  }
  return 0;
}
